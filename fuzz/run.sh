#!/usr/bin/env bash
# Fuzzes one reader with AFL++ and SharpFuzz: fuzz/run.sh TARGET [MINUTES] (default 30).
# Targets: idx, idx-gz, safetensors, image, config, csv, onnx. Needs Debian's afl++ and the
# SharpFuzz.CommandLine dotnet tool (both installed here when missing). Findings go to
# fuzz/findings/TARGET/default/{crashes,hangs}; copy each into
# tests/Nabla.Cli.Tests/fuzz-regressions/TARGET/ once fixed, where CI replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh TARGET [MINUTES]}
minutes=${2:-30}
command -v afl-fuzz >/dev/null || apt-get install -y afl++
export PATH="$PATH:$HOME/.dotnet/tools"
command -v sharpfuzz >/dev/null || dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0
# FUZZ_BIN: another build folder, so two targets can be fuzzed at once (one core each).
bin=${FUZZ_BIN:-fuzz/bin}
plain=$bin/plain out=$bin/afl
dotnet build fuzz/Nabla.Fuzz -c Release -o "$plain" -v q -nologo >/dev/null
[ -d fuzz/corpus/"$target" ] || dotnet "$plain/Nabla.Fuzz.dll" seeds fuzz/corpus   # before instrumenting: it runs outside AFL
# Our assemblies instrumented in a copy (instrumented code runs only under AFL).
rm -rf "$out" && cp -r "$plain" "$out"
for dll in Nabla Nabla.Vision Nabla.Onnx Nabla.Cli; do sharpfuzz "$out/$dll.dll" >/dev/null; done
mkdir -p fuzz/findings
export AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_SKIP_BIN_CHECK=1  # dotnet is not the instrumented binary; our DLLs are
input=fuzz/corpus/"$target"; [ -d fuzz/findings/"$target"/default/queue ] && input=-   # "-": continue the previous session
afl-fuzz -i "$input" -o fuzz/findings/"$target" -t 10000 -m none -V $((minutes * 60)) \
  -- dotnet "$out/Nabla.Fuzz.dll" "$target"
# The figures docs/reliability.md records: executions in all and per second, and what was found.
grep -E "^(execs_done|execs_per_sec|run_time|saved_crashes|saved_hangs|corpus_count)" fuzz/findings/"$target"/default/fuzzer_stats
