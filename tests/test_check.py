"""mlrag.check / check_code: commands and snippets against an affordance catalog (hand-built and extracted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import mlrag
from agent_repo import FILES, write_repo
from mlrag.agent import check_code, detect_language
from mlrag.agent.entry_points import format_catalog
from mlrag.catalog import Affordance, Catalog, Param, build_catalog
from mlrag.cli import main
from mlrag.errors import ConfigError

FAKE = ["--set", "embedding.model=fake", "-q"]

# --- a catalog written by hand (independent of the extractors) -------------------------------------------------

TRAIN = Affordance(
    id="python-script:examples/arma/train.py",
    kind="python-script",
    name="train.py",
    path="examples/arma/train.py",
    run="python train.py",
    workdir="examples/arma",
    framework="argparse",
    params=(
        Param("--dataset", choices=("cora", "citeseer", "pubmed"), default="cora"),
        Param("--num-stacks", aliases=("-s",), type="int", default="2"),
        Param("--lr", type="float", default="0.01"),
        Param("--out", required=True, help="checkpoint path"),
        Param("--gpu", action="store_true"),
        Param("--layers", type="int", nargs="+"),
        Param("config", kind="positional", position=0, dest="config"),
    ),
)
RUN_SH = Affordance(
    id="shell-script:scripts/run.sh",
    kind="shell-script",
    name="run.sh",
    path="scripts/run.sh",
    run="bash scripts/run.sh",
    framework="shell",
    params=(
        Param("dataset", kind="positional", position=0, dest="DATASET", default="cora"),
        Param("EPOCHS", kind="env", default="10", dest="EPOCHS"),
    ),
)
MAKE = Affordance(
    id="make-target:Makefile:train", kind="make-target", name="train", path="Makefile", run="make train",
    framework="make", subcommand="train", params=(Param("EPOCHS", kind="make-var", default="3"),),
)  # fmt: skip
API = Affordance(
    id="python-api:pkg/models.py:build", kind="python-api", name="pkg.models.build", path="pkg/models.py",
    run="from pkg.models import build", framework="signature", signature="build(name, pretrained=False)",
    params=(Param("name", kind="kwarg", required=True, dest="name"),
            Param("pretrained", kind="kwarg", default="False", dest="pretrained")),
)  # fmt: skip
REGISTRY = Affordance(
    id="registry:pkg/models.py:MODELS", kind="registry", name="pkg.models.MODELS", path="pkg/models.py",
    start_line=1, end_line=1, framework="registry", values=("resnet18", "resnet50"),
)  # fmt: skip
CATALOG = Catalog((TRAIN, RUN_SH, MAKE, API, REGISTRY))
SOURCES = {
    "examples/arma/train.py": "import argparse\n",
    "examples/arma/README.md": "cd examples/arma && python train.py cfg.yaml --out x\n",
    "scripts/run.sh": 'DATASET=${1:-cora}\nEPOCHS=${EPOCHS:-10}\npython train.py --dataset "$DATASET"\n',
    "Makefile": "EPOCHS ?= 3\ntrain:\n\techo $(EPOCHS)\n",
    "pkg/__init__.py": "",
    "pkg/models.py": "MODELS = {'resnet18': 1, 'resnet50': 2}\n\ndef build(name, pretrained=False):\n"
    "    return MODELS[name]\n",
}
FILESET = set(SOURCES)


def _check(code: str, workdir: str = "", read: bool = True) -> mlrag.CheckResult:
    return check_code(code, CATALOG, FILESET, workdir=workdir, read=SOURCES.get if read else None)


VALID = [
    "cd examples/arma && python train.py cfg.yaml --out ckpt.pt",
    "cd examples/arma && python train.py cfg.yaml --out=ckpt.pt --dataset citeseer -s 3 --gpu --layers 2 3 4",
    "python examples/arma/train.py cfg.yaml --out c --num 4",  # argparse's unique prefix of --num-stacks
    "cd examples && cd arma && CUDA_VISIBLE_DEVICES=0 nohup python -u train.py cfg.yaml --out c",
    "torchrun --nproc_per_node 2 examples/arma/train.py cfg.yaml --out c",
    "accelerate launch --num_processes 2 examples/arma/train.py cfg.yaml --out c",
    "python -m torch.distributed.run --nproc_per_node 2 examples/arma/train.py cfg.yaml --out c",
    "EPOCHS=5 bash scripts/run.sh citeseer",
    "make train EPOCHS=1",
    "pip install -r requirements.txt && git clone https://x/y && wget https://x/z.zip",
    "cd /tmp && python train.py --anything",  # outside the repository: not checked
    "python examples/arma/train.py cfg.yaml --out c --lr $LR --dataset ${DS}",
    "from pkg.models import build\nbuild('resnet18', pretrained=True)",
    "import numpy as np\nimport os.path\nfrom collections import OrderedDict\nnp.zeros(3)",
]


@pytest.mark.parametrize("code", VALID)
def test_valid_commands_pass(code: str) -> None:
    r = _check(code)
    assert r.valid and r.problems == (), r
    assert r.to_dict() == {"valid": True, "problems": [], "suggestions": list(r.suggestions)}


@pytest.mark.parametrize(
    "code, problem, suggestion",
    [
        ("python examples/arma/train.py c --out x --num-stacs 3", "no option --num-stacs; did you mean --num-stacks",
         ""),
        ("python examples/arma/train.py c --out x --datset cora", "did you mean --dataset", "--dataset"),
        ("python examples/arma/train.py c --out x --dataset Cora", "choose from cora, citeseer, pubmed",
         "--dataset cora"),
        ("python examples/arma/train.py c --out x --num-stacks two", "expects an integer, got 'two'", ""),
        ("python examples/arma/train.py c --dataset cora", "requires --out (checkpoint path)", ""),
        ("python examples/arma/train.py c d --out x", "takes 1 positional argument (config), got 2", ""),
        ("python examples/arma/train.py --out x", "missing positional argument config", ""),
        ("python examples/arma/train.py c --out x --gpu=yes", "--gpu is a flag and takes no value", ""),
        ("python examples/arma/train.py c --out", "--out needs a value", ""),
        ("python examples/arma/train.py c --out x --layers", "--layers needs a value", ""),
        ("python train.py c --out x", "train.py is not a file at the repository root",
         "cd examples/arma && python train.py"),
        ("cd examples/arma && python tran.py c --out x", "tran.py is not a file", "python train.py"),
        ("cd example && ls", "example is not a folder of the repository; did you mean examples", ""),
        ("EPOCH=5 bash scripts/run.sh cora", "does not read EPOCH; did you mean EPOCHS?", ""),
        ("bash scripts/run.sh cora extra", "reads 1 positional argument (dataset), got 2", ""),
        ("make trian", "no target 'trian' in Makefile; did you mean train?", ""),
        ("make train EPOCH=2", "reads EPOCH; did you mean EPOCHS?", ""),
        ("cd examples && make train", "no Makefile in examples", "make train"),
        ("python -m pkg.model", "not in the repository; did you mean pkg.models?", ""),
        ("from pkg.models import buld", "pkg.models has no name buld; did you mean build?", ""),
        ("import pkg.model", "module pkg.model is not in the repository; did you mean pkg.models?", ""),
        ("from pkg.models import build\nbuild('resnet18', pretrainde=True)", "no keyword argument pretrainde", ""),
        ("from pkg.models import build\nbuild(pretrained=True)", "missing required argument name", ""),
        ("from pkg.models import build\nbuild('resnet34')", "'resnet34' is not registered", "resnet"),
        ("import pkg.models as m\nm.MODELS['resnet5']", "'resnet5' is not registered", "resnet50"),
        ("import pkg\npkg.models.bild('x')", "pkg.models has no name bild; did you mean build?", ""),
        ("import pkgs", "module pkgs is not in the repository nor installed; did you mean pkg?", ""),
        ("import pkg.models\ndef f(:\n  pass", "the code does not parse", ""),
    ],
)
def test_problems_name_the_real_alternative(code: str, problem: str, suggestion: str) -> None:
    r = _check(code)
    assert not r.valid
    assert any(problem in p for p in r.problems), r.problems
    assert len(r.problems) == 1, r.problems  # one mistake, one problem: no noise around it
    if suggestion:
        assert any(suggestion in s for s in r.suggestions), r.suggestions


def test_a_key_given_as_a_value_is_not_echoed() -> None:
    key = "sk-" + "a1B2c3D4e5F6g7H8i9J0kLmN"
    r = _check(f"python examples/arma/train.py c --out x --num-stacks {key}")
    assert not r.valid and "expects an integer" in r.problems[0]
    assert key not in json.dumps(r.to_dict())


def test_workdir_is_where_relative_scripts_resolve() -> None:
    assert _check("python train.py c --out x", workdir="examples/arma").valid
    assert not _check("python train.py c --out x", workdir="examples").valid
    assert _check("cd .. && python arma/train.py c --out x", workdir="examples/arma").valid
    assert _check("pushd examples/arma && python train.py c --out x && popd && make train").valid
    with pytest.raises(ConfigError, match="workdir"):
        _check("ls", workdir="../outside")


def test_facts_only_a_file_holds_are_not_guessed_without_it() -> None:
    # without the shell script's text, extra positionals may be forwarded ("$@"): no problem is made up
    assert _check("bash scripts/run.sh cora extra", read=False).valid
    # a forwarding script takes anything
    forwarding = dict(SOURCES, **{"scripts/run.sh": SOURCES["scripts/run.sh"] + 'python x.py "$@"\n'})
    assert check_code("bash scripts/run.sh cora --lr 1 extra", CATALOG, FILESET, read=forwarding.get).valid
    # without module sources, names are not checked (only modules, which the file list shows)
    assert _check("from pkg.models import anything", read=False).valid
    assert not _check("from pkg.nomodule import anything", read=False).valid


def test_parser_handed_to_a_helper_flags_near_misses_only() -> None:
    """dgl's examples call ``register_data_args(parser)`` (options from the installed library): an option the
    catalog lacks is a note, unless it is one typo away from a real one."""
    entry = Affordance(
        id="python-script:gcn/train.py", kind="python-script", name="train.py", path="gcn/train.py",
        run="python gcn/train.py", framework="argparse", params=(Param("--n-hidden", type="int"),),
    )  # fmt: skip
    text = (
        "import argparse\nfrom dgl.data import register_data_args\nparser = argparse.ArgumentParser()\n"
        "register_data_args(parser)\nparser.add_argument('--n-hidden')\n"
    )
    cat, files = Catalog((entry,)), {"gcn/train.py"}
    r = check_code("python gcn/train.py --dataset cora --n-hidden 16", cat, files, read={"gcn/train.py": text}.get)
    assert r.valid and any("register_data_args(parser)" in s for s in r.suggestions), r
    r = check_code("python gcn/train.py --n-hiden 16", cat, files, read={"gcn/train.py": text}.get)
    assert not r.valid and "did you mean --n-hidden" in r.problems[0]
    closed = text.replace("register_data_args(parser)\n", "")
    assert not check_code("python gcn/train.py --dataset cora", cat, files, read={"gcn/train.py": closed}.get).valid


def test_namespace_packages_import_from_the_working_folder() -> None:
    """External-Attention-pytorch's ``model/attention/*.py`` have no ``__init__.py``: still importable from the
    root (PEP 420); an installed package of the same name wins over a namespace folder."""
    src = {
        "model/attention/Halo.py": "class HaloAttention:\n    def __init__(self, dim, block_size=2):\n        pass\n",
        "json/helpers.py": "X = 1\n",
    }
    files = set(src)
    cat = build_catalog(src.items())
    assert check_code("from model.attention.Halo import HaloAttention", cat, files, read=src.get).valid
    r = check_code("from model.attention.Hallo import HaloAttention", cat, files, read=src.get)
    assert not r.valid and "did you mean model.attention.Halo" in r.problems[0]
    r = check_code("from model.attention.Halo import HaloAttn", cat, files, read=src.get)
    assert not r.valid and "did you mean HaloAttention" in r.problems[0]
    assert check_code("import json\nfrom json import loads\njson.dumps(1)", cat, files, read=src.get).valid


def test_open_command_lines_are_not_policed() -> None:
    loose = Affordance(id="python-script:x.py", kind="python-script", name="x.py", path="x.py", run="python x.py")
    hf = Affordance(
        id="python-script:hf.py", kind="python-script", name="hf.py", path="hf.py", run="python hf.py",
        framework="hf-dataclass", summary="plus the options of TrainingArguments",
        params=(Param("--model_name_or_path", required=True), Param("--fp16", action="store_true")),
    )  # fmt: skip
    cat = Catalog((loose, hf))
    files = {"x.py", "hf.py"}
    assert check_code("python x.py --whatever 1 a b", cat, files).valid
    r = check_code("python hf.py --model_name_or_path m --output_dir o --fp16 True --model-name-or-path m", cat, files)
    assert r.valid, r
    assert not check_code("python hf.py --output_dir o", cat, files).valid  # required is still required


def test_click_typer_fire_spellings_and_hydra_overrides() -> None:
    click = Affordance(
        id="console-script:tool", kind="console-script", name="tool", path="tool/cli.py", run="tool",
        framework="click", params=(Param("--dry-run", action="store_true"), Param("--max-len", type="int")),
    )  # fmt: skip
    hydra = Affordance(
        id="python-script:run.py", kind="python-script", name="run.py", path="run.py", run="python run.py",
        framework="hydra", params=(Param("trainer.max_epochs", kind="override", type="int"),
                                   Param("model", kind="override", choices=("gpt", "bert"))),
    )  # fmt: skip
    cat = Catalog((click, hydra))
    files = {"tool/cli.py", "run.py"}
    assert check_code("tool --max_len 3 --no-dry-run", cat, files).valid
    assert not check_code("tool --max-lenght 3", cat, files).valid
    assert check_code("python run.py trainer.max_epochs=3 model=gpt +extra.key=1 model.hidden=4 -m", cat, files).valid
    r = check_code("python run.py trainer.max_epoch=3", cat, files)
    assert not r.valid and "did you mean trainer.max_epochs" in r.problems[0]
    r = check_code("python run.py model=t5 trainer.max_epochs=x", cat, files)
    assert len(r.problems) == 2 and "choose from gpt, bert" in r.problems[0] and "expects an integer" in r.problems[1]


@pytest.mark.parametrize(
    "code",
    ["x = " + "(" * 5000 + ")" * 5000, "import pkg\x00", "python '" + "a" * 50000, "`" * 3000, "\\\n" * 5000,
     "cd " + "../" * 2000 + " && python x.py", "f(" * 200 + ")" * 200],
)
def test_hostile_input_is_a_verdict_not_a_crash(code: str) -> None:
    r = _check(code)
    assert isinstance(r.valid, bool) and all(len(p.splitlines()) == 1 for p in r.problems)


def test_language_detection_and_fences() -> None:
    assert detect_language("python train.py --lr 1") == "bash"
    assert detect_language("ls") == "bash" and detect_language("make") == "bash"
    assert detect_language("import pkg\npkg.run()") == "python"
    assert detect_language("from pkg import (\n") == "python"  # broken Python is still Python
    fenced = "Run this:\n```bash\ncd examples/arma && python train.py c --out x --datset cora\n```\n"
    assert "did you mean --dataset" in _check(fenced).problems[0]
    with pytest.raises(ConfigError):
        _check("   ")
    with pytest.raises(ConfigError, match="language"):
        check_code("ls", CATALOG, FILESET, language="perl")


# --- the extracted catalog of a repository the project never saw ---------------------------------------------


def _mangle(name: str) -> str:
    """Two letters after the dashes swapped (``--model`` -> ``--mdoel``): a typo that is no prefix."""
    dashes = len(name) - len(name.lstrip("-"))
    i = dashes + 1
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :] if len(name) > i + 2 else name + "x"


def test_every_real_option_passes_and_every_mangled_one_is_caught() -> None:
    """Invariant over the extracted catalog: each option given a valid value passes; the same option misspelt
    by one letter fails with the real spelling suggested."""
    cat = build_catalog(FILES.items())
    files = set(FILES)
    scripts = [a for a in cat.of_kind("python-script") if a.params and a.framework == "argparse"]
    assert len(scripts) >= 3
    checked = 0
    for a in scripts:
        base = f"cd {a.workdir} && {a.run}" if a.workdir else a.run
        required = " ".join(f"{p.name} {p.choices[0] if p.choices else '1'}" for p in a.params if p.required)
        for p in a.params:
            if p.kind != "option":
                continue
            value = "" if p.is_flag else (p.choices[-1] if p.choices else "3")
            ok = check_code(f"{base} {required} {p.name} {value}", cat, files, read=FILES.get)
            assert ok.valid, (a.id, p.name, ok)
            bad = _mangle(p.name)
            if any(s.startswith(bad) for s in p.spellings) or a.param(bad) is not None:
                continue  # a prefix argparse accepts
            wrong = check_code(f"{base} {required} {bad} {value}", cat, files, read=FILES.get)
            assert not wrong.valid and f"did you mean {p.name}" in wrong.problems[0], (a.id, bad, wrong)
            checked += 1
    assert checked >= 5


def test_check_on_a_repository_folder(tmp_path: Path) -> None:
    repo = write_repo(tmp_path / "tinytag")
    over = ["embedding.model=fake"]
    ok = mlrag.check("cd tools && python tag.py --model tagger-l --input data/sample.txt", str(repo), overrides=over)
    assert ok.valid, ok
    bad = mlrag.check("cd tools && python tag.py --model tagger-xl --input a --batchsize 3", str(repo), overrides=over)
    assert not bad.valid and len(bad.problems) == 2
    assert "choose from tagger-s, tagger-l" in bad.problems[0] and "did you mean --batch-size" in bad.problems[1]
    py = mlrag.check("from tinytag import build\nbuild('tagger-m', dropot=0.2)", str(repo), overrides=over)
    assert any("'tagger-m' is not registered" in p for p in py.problems)
    assert any("did you mean dropout" in p for p in py.problems)
    with pytest.raises(mlrag.MlragError, match="does not exist"):
        mlrag.check("ls", str(tmp_path / "nope"), overrides=over)


# --- the command line ---------------------------------------------------------------------------------------


def test_cli_check_exit_codes_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = str(write_repo(tmp_path / "tinytag"))
    assert main(["check", repo, "cd tools && python tag.py --input a", *FAKE]) == 0
    assert capsys.readouterr().out.startswith("valid")
    assert main(["check", repo, "cd tools && python tag.py --inptu a", *FAKE, "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is False and "did you mean --input" in out["problems"][0]
    assert main(["check", repo, "   ", *FAKE]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlrag: error:") and len(err.strip().splitlines()) == 1
    assert main(["check", str(tmp_path / "nope"), "ls", *FAKE]) == 2


def test_cli_entry_points_table_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = str(write_repo(tmp_path / "tinytag"))
    assert main(["entry-points", repo, *FAKE]) == 0
    table = capsys.readouterr().out
    for fragment in ("cd tools && python tag.py", "--model", "{tagger-s|tagger-l}", "default=tagger-s", "required",
                     "bash scripts/sweep.sh", "make train", "EPOCHS=", "names: tagger-s, tagger-l"):  # fmt: skip
        assert fragment in table, fragment
    assert main(["entry-points", repo, "--kind", "shell-script", "--json", *FAKE]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in entries] == ["shell-script"] and entries[0]["command"] == "bash scripts/sweep.sh"
    assert main(["entry-points", repo, "--kind", "nope", *FAKE]) == 2
    assert "unknown entry-point kind" in capsys.readouterr().err


def test_table_shows_every_parameter() -> None:
    cat = build_catalog(FILES.items())
    table = format_catalog(cat)
    for a in cat:
        for p in a.params:
            assert p.name in table, (a.id, p.name)
