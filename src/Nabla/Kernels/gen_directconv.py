# Writes DirectConvKernels.cs: the register-blocked kernels of DirectConv, one per (P pixels along a
# row, NV vectors of 16 output channels, pixel step S), fully unrolled so that the accumulators stay in
# registers. Run: python3 gen_directconv.py
SHAPES = [(p, 2) for p in range(1, 15)] + [(p, 4) for p in range(1, 8)]

def kernel(P, NV, S):
    L = []
    name = f"K{P}x{NV}s{S}"
    L.append(f"    /// <summary>{P} pixels (step {S}) x {NV * 16} output channels: {P * NV} accumulators.</summary>")
    L.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    L.append(f"    static void {name}(float* x, nint cs, nint rs, int c, int kh, int kw, float* w, float* acc, bool accumulate)")
    L.append("    {")
    for k in range(P):
        L.append("        " + " ".join(f"Vector512<float> a{k}_{v};" for v in range(NV)))
    L.append("        if (accumulate)")
    L.append("        {")
    for k in range(P):
        L.append("            " + " ".join(f"a{k}_{v} = Vector512.Load(acc + {(k * NV + v) * 16});" for v in range(NV)))
    L.append("        }")
    L.append("        else")
    L.append("        {")
    for k in range(P):
        L.append("            " + " ".join(f"a{k}_{v} = Vector512<float>.Zero;" for v in range(NV)))
    L.append("        }")
    L.append("        for (int ic = 0; ic < c; ic++, x += cs)")
    L.append("        {")
    L.append("            float* xr = x;")
    L.append("            for (int i = 0; i < kh; i++, xr += rs)")
    L.append("            {")
    L.append(f"                for (int j = 0; j < kw; j++, w += {NV * 16})")
    L.append("                {")
    for v in range(NV):
        L.append(f"                    var w{v} = Vector512.Load(w + {v * 16});")
    for k in range(P):
        L.append(f"                    var x{k} = Vector512.Create(xr[j + {k * S}]);")
        for v in range(NV):
            L.append(f"                    a{k}_{v} = Vector512.FusedMultiplyAdd(x{k}, w{v}, a{k}_{v});")
    L.append("                }")
    L.append("            }")
    L.append("        }")
    for k in range(P):
        L.append("        " + " ".join(f"Vector512.Store(a{k}_{v}, acc + {(k * NV + v) * 16});" for v in range(NV)))
    L.append("    }")
    return "\n".join(L)


def store():
    L = []
    L.append("    /// <summary>")
    L.append("    /// Writes 16 output channels of a tile, acc[k][16] for pixels k &lt; p (16 apart: <paramref name=\"stride\"/> floats), to")
    L.append("    /// p consecutive pixels of each channel's plane (planeOut apart), with the bias, then the residual (laid")
    L.append("    /// out as y) when there is one, then ReLU: the 16 x 16 block transposed in registers (pixels past p are")
    L.append("    /// zero and masked off).")
    L.append("    /// </summary>")
    L.append("    [MethodImpl(MethodImplOptions.AggressiveOptimization)]")
    L.append("    static void Store16(float* acc, int p, int stride, float* bias, bool relu, float* y, nint planeOut, float* residual)")
    L.append("    {")
    L.append("        var b = bias == null ? Vector512<float>.Zero : Vector512.Load(bias);")
    L.append("        var floor = relu ? Vector512<float>.Zero : Vector512.Create(float.NegativeInfinity);")
    L.append("        // With a residual, ReLU comes after adding it.")
    L.append("        var first = residual == null ? floor : Vector512.Create(float.NegativeInfinity);")
    for k in range(16):
        L.append(f"        var r{k} = {k} < p ? Vector512.Max(Vector512.Load(acc + {k} * stride) + b, first) : Vector512<float>.Zero;")
    for i in range(8):
        a, c = 2*i, 2*i+1
        L.append(f"        var t{a} = Avx512F.UnpackLow(r{a}, r{c}); var t{c} = Avx512F.UnpackHigh(r{a}, r{c});")
    def pd(dst, x, y, hi):
        f = "UnpackHigh" if hi else "UnpackLow"
        return f"r{dst} = Avx512F.{f}(t{x}.AsDouble(), t{y}.AsDouble()).AsSingle();"
    for g in range(4):
        o = 4*g
        L.append("        " + " ".join([pd(o, o, o+2, False), pd(o+1, o, o+2, True), pd(o+2, o+1, o+3, False), pd(o+3, o+1, o+3, True)]))
    def sh(dst, x, y, imm, src, d):
        return f"{d}{dst} = Avx512F.Shuffle4x128({src}{x}, {src}{y}, 0x{imm:02X});"
    for half in range(2):
        o = 8*half
        L.append("        " + " ".join(sh(o+j, o+j, o+j+4, 0x88, "r", "t") for j in range(4)))
        L.append("        " + " ".join(sh(o+4+j, o+j, o+j+4, 0xDD, "r", "t") for j in range(4)))
    for j in range(8):
        L.append(f"        r{j} = Avx512F.Shuffle4x128(t{j}, t{j+8}, 0x88); r{j+8} = Avx512F.Shuffle4x128(t{j}, t{j+8}, 0xDD);")
    L.append("        var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(p)).AsSingle();")
    L.append("        if (residual != null)")
    L.append("        {")
    for k in range(16):
        L.append(f"            r{k} = Vector512.Max(r{k} + Avx512F.MaskLoad(residual + {k} * planeOut, mask, Vector512<float>.Zero), floor);")
    L.append("        }")
    for k in range(16):
        L.append(f"        Avx512F.MaskStore(y + {k} * planeOut, mask, r{k});")
    L.append("    }")
    return "\n".join(L)

hdr = '''// <auto-generated> by gen_directconv.py beside this file (python3 gen_directconv.py); edit the script, not the code. </auto-generated>
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Nabla.Kernels;

/// <summary>
/// DirectConv's kernels: acc[P][NV x 16] (+)= sum over c input channels and the kh x kw taps of
/// x[pixel k's tap] * w[tap][NV x 16]. Pixel k of the row starts at x + k * S; input channels are cs
/// apart, input rows rs apart; w holds NV x 16 output channels per (channel, tap), in that order. Each
/// output is accumulated by one fused multiply-add per (channel, tap) in increasing order, whichever
/// kernel computes it, so results do not depend on how the rows are tiled.
/// </summary>
internal static unsafe partial class DirectConv
{
'''
body = []
for S in (1, 2):
    for (P, NV) in SHAPES:
        body.append(kernel(P, NV, S))
table = ["    /// <summary>The kernel for P pixels, NV vectors and pixel step S (1 or 2).</summary>",
         "    static delegate*<float*, nint, nint, int, int, int, float*, float*, bool, void> Kernel(int p, int nv, int s) => (p, nv, s) switch",
         "    {"]
for S in (1, 2):
    for (P, NV) in SHAPES:
        table.append(f"        ({P}, {NV}, {S}) => &K{P}x{NV}s{S},")
table.append("        _ => throw new ArgumentOutOfRangeException(nameof(p), $\"DirectConv: no kernel for {p} pixels x {nv} vectors at step {s}\"),")
table.append("    };")
open("DirectConvKernels.cs", "w").write(hdr + "\n\n".join(body) + "\n\n" + store() + "\n\n" + "\n".join(table) + "\n}\n")
