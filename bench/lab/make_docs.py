#!/usr/bin/env python3
"""docs/lab.md and docs/lab/<experiment>/*.png from a `nabla lab all` folder: every figure with its
claim, its measured verdicts and the command that made it; with a third argument, a `nabla lab all
--full` folder whose verdicts are appended. Usage: make_docs.py LAB_FOLDER DOCS_FOLDER [FULL_FOLDER]."""
import json, os, re, shutil, sys

lab, docs = sys.argv[1], sys.argv[2]
full = sys.argv[3] if len(sys.argv) > 3 else None  # optionally a `nabla lab all --full` folder: its verdicts are appended
summary = json.load(open(os.path.join(lab, "summary.json")))
figures_root = os.path.join(docs, "lab")
shutil.rmtree(figures_root, ignore_errors=True)
out = []
holds = sum(v["verdict"] == "holds" for e in summary["experiments"] for v in e["verdicts"])
total = sum(len(e["verdicts"]) for e in summary["experiments"])
out.append("# nabla lab: the lecture's claims, measured\n")
out.append("`nabla lab NAME` runs one claim of the lecture as an experiment on Fashion-MNIST and writes its figures, a `report.md` "
           "(the claim, the setup, the numbers, the verdict) and a `result.json`; `nabla lab all` runs the twelve, `nabla lab --list` "
           "lists them, `--full` gives the longer, more faithful version and `--seed N` another draw of every random stream. "
           "A verdict is measured on this data, never assumed: a claim that did not hold here says so, with its numbers.\n")
out.append(f"The run below: `nabla lab all` at the default scale, seed {summary['seed']}, {summary['seconds'] / 60:.0f} minutes on two cores "
           f"(`bench/lab/run.sh`; raw folder `{lab}`). {holds} of {total} verdicts hold.\n")
out.append("| experiment | claim | verdicts |\n| --- | --- | --- |")
for e in summary["experiments"]:
    r = json.load(open(os.path.join(lab, e["experiment"], "result.json")))
    words = ", ".join(v["verdict"] for v in r["verdicts"])
    out.append(f"| [{e['experiment']}](#{e['experiment']}) | {r['claim']} | {words} |")
out.append("")
out.append("The instruments the experiments use are in the library: module hooks (`Module.RegisterForwardHook`, "
           "`Module.RegisterFullBackwardHook`) and `TrainingDiagnostics`, which `nabla train --diagnostics` also writes into a run "
           "(docs/training.md).\n")
for e in summary["experiments"]:
    name = e["experiment"]
    folder = os.path.join(lab, name)
    r = json.load(open(os.path.join(folder, "result.json")))
    report = open(os.path.join(folder, "report.md")).read()
    os.makedirs(os.path.join(figures_root, name), exist_ok=True)
    out.append(f"## {name}\n")
    out.append(f"**Claim.** {r['claim']}\n")
    out.append(f"Command: `nabla lab {name}` ({r['seconds']:.0f} s; seed {r['seed']}).\n")
    for v in r["verdicts"]:
        out.append(f"- **{v['claim']}**: {v['verdict']}. {v['evidence']}")
    out.append("")
    # The report's body after its verdicts: setup, tables and figures, with the figures moved under docs/lab/NAME/.
    body = report.split("## Verdicts", 1)[1].split("\n## ", 1)
    body = "## " + body[1] if len(body) > 1 else ""
    body = re.sub(r"^## ", "### ", body, flags=re.M)
    def figure(m):
        shutil.copy(os.path.join(folder, m.group(2)), os.path.join(figures_root, name, m.group(2)))
        return f"![{m.group(1)}](lab/{name}/{m.group(2)})"
    body = re.sub(r"!\[([^\]]*)\]\(([^)]+\.png)\)", figure, body)
    out.append(body.strip() + "\n")
if full:
    # Every experiment folder of the --full run (it may have been run in parts), in the lecture's order.
    results = [json.load(open(os.path.join(full, e["experiment"], "result.json"))) for e in summary["experiments"]
               if os.path.exists(os.path.join(full, e["experiment"], "result.json"))]
    fh = sum(v["verdict"] == "holds" for r in results for v in r["verdicts"])
    ft = sum(len(r["verdicts"]) for r in results)
    minutes = sum(r["seconds"] for r in results) / 60
    out.append("## The same claims at `--full`\n")
    out.append(f"`nabla lab NAME --full` (more data, epochs and passes; seed {results[0]['seed']}) for the {len(results)} experiments took "
               f"{minutes:.0f} minutes on two cores in all; {fh} of {ft} verdicts hold. Its figures are not copied here; the verdicts, with their numbers:\n")
    for r in results:
        for v in r["verdicts"]:
            out.append(f"- {r['experiment']}: **{v['claim']}**: {v['verdict']}. {v['evidence']}")
    out.append("")
open(os.path.join(docs, "lab.md"), "w").write("\n".join(out))
print(f"wrote {os.path.join(docs, 'lab.md')}: {len(summary['experiments'])} experiments, {holds} of {total} verdicts hold")
