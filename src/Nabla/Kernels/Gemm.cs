using System.Runtime.Intrinsics.X86;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Nabla.Kernels;

/// <summary>
/// Single-precision general matrix multiply in the BLIS style: C = alpha * op(A) * op(B) + beta * C,
/// row-major, for all four transpose combinations.
/// </summary>
/// <remarks>
/// <para>The five BLIS loops: columns of C in blocks of NC; the shared dimension in blocks of KC (a
/// KC x NC block of B is packed into NR-wide micro-panels); rows in blocks of MC (an MC x KC block of
/// A is packed into MR-tall micro-panels, sized for L2); then NR columns by MR rows, where a
/// register-blocked micro-kernel (<see cref="MicroKernels"/>) runs over KC. The micro-kernel is
/// chosen at run time: 8x32 on Vector512 (AVX-512), 6x16 on Vector256, 4x8 on Vector128.</para>
/// <para>Parallel work is split over output blocks only, and each output element is always the
/// same sequence of fused multiply-adds, so the result is bitwise identical for any thread count
/// (and across the three micro-kernels). When op(B) is B itself and few row blocks will reuse a
/// packed panel (the skinny shapes of a training step), B is read in place instead of packed.</para>
/// <para>Packing buffers are native, 64-byte aligned and kept per thread: after warm-up a call
/// allocates nothing on the managed heap.</para>
/// </remarks>
public static unsafe class Gemm
{
    /// <summary>Which micro-kernel family to use; chosen from the hardware, overridable for tests.</summary>
    internal enum Isa { Vector128, Vector256, Vector512 }

    internal static Isa Selected { get; set; } =
        Vector512.IsHardwareAccelerated ? Isa.Vector512 : Vector256.IsHardwareAccelerated ? Isa.Vector256 : Isa.Vector128;

    // Cache blocking. KC is the same for every kernel, so every kernel computes the same bits.
    internal const int KC = 256;
    const int MCRows = 168;   // 21 micro-panels of 8 rows: 168 x 256 floats = 168 KB of A in L2
    const int NC = 2048;      // 256 x 2048 floats = 2 MB of packed B
    const double ParallelFlops = 2e6; // below this a second thread costs more than it saves
    const int ChunksPerThread = 2;
    const int MinPanelsPerChunk = 4;

    /// <summary>
    /// C (m x n, leading dimension ldc) = alpha * op(A) * op(B) + beta * C, where op(A) is m x k
    /// (A stored k x m when <paramref name="transA"/>) and op(B) is k x n (B stored n x k when
    /// <paramref name="transB"/>). All matrices row-major with the given leading dimensions.
    /// When beta is 0, C is not read (NaN in C does not propagate), as in BLAS.
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0)
            throw new ArgumentException($"Sgemm: expected non-negative sizes; got m = {m}, n = {n}, k = {k}");
        CheckMatrix("A", a.Length, transA ? k : m, transA ? m : k, lda);
        CheckMatrix("B", b.Length, transB ? n : k, transB ? k : n, ldb);
        CheckMatrix("C", c.Length, m, n, ldc);
        if (m == 0 || n == 0) return;
        fixed (float* pa = a, pb = b, pc = c)
            Run(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
    }

    static void CheckMatrix(string name, int length, int rows, int cols, int ld)
    {
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"Sgemm: expected leading dimension of {name} >= {Math.Max(1, cols)} (its stored row length); got {ld}");
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
            throw new ArgumentException($"Sgemm: expected {name} to hold at least {need} elements for a {rows} x {cols} matrix with leading dimension {ld}; got {length}");
    }

    /// <summary>The unchecked entry point for callers that validated their arguments.</summary>
    internal static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        var job = t_job ??= new GemmJob();
        job.Set(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, Selected);
        Dispatch(job, m, n, k);
    }

    static void Dispatch(GemmJob job, int m, int n, int k)
    {
        var (threads, chunks) = Chunks(job.Blocks(), m, n, k);
        WorkerPool.Run(job, chunks, threads);
    }

    /// <summary>
    /// The threads and chunks of a parallel C (m x n x k) split over <paramref name="panels"/> micro-panels:
    /// two chunks per thread, so that a thread the OS does not schedule is covered by the others, but each at
    /// least MinPanelsPerChunk micro-panels wide: every chunk packs its own copy of the other operand, which
    /// must stay small next to the chunk's arithmetic.
    /// </summary>
    static (int Threads, int Chunks) Chunks(int panels, int m, int n, int k)
    {
        int threads = 2.0 * m * n * k < ParallelFlops ? 1 : Threading.NumThreads;
        return (threads, threads == 1 ? 1 : Math.Max(1, Math.Min(panels / MinPanelsPerChunk, ChunksPerThread * threads)));
    }

    [ThreadStatic] static GemmJob? t_job;

    /// <summary>
    /// One operand, op(A) or op(B), packed once into the micro-panel layout the GEMM reads, for a matrix
    /// multiplied on every call (an inference model's weights): the GEMM then reads the panels in place
    /// instead of packing that operand again. Block [pc, pc + KC) of the shared dimension holds
    /// RoundUp(rows, MR) x kc floats of A in MR-row micro-panels (kc x MR each), or RoundUp(cols, NR) x kc
    /// floats of B in NR-column micro-panels (kc x NR each), exactly as the per-call packing writes them,
    /// so the products are bitwise those of the unpacked call.
    /// </summary>
    internal sealed class Packed
    {
        /// <summary>
        /// The panels, in a pinned array (it never moves) from its first 64-byte boundary, as the per-call packing buffers
        /// are: the micro-kernel's 64-byte vector loads of B then never straddle two cache lines. A managed array's data
        /// starts 16 bytes into its object, wherever the object lands.
        /// </summary>
        readonly float[] _storage;

        internal Packed(int floats, int rows, int cols, bool isA, Isa isa)
        {
            (Rows, Cols, IsA, Isa) = (rows, cols, isA, isa);
            _storage = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
            float* p = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage));
            Data = (float*)(((nint)p + 63) & ~(nint)63);
        }

        /// <summary>The first packed float, 64-byte aligned; valid as long as this object lives.</summary>
        internal float* Data { get; }
        /// <summary>op(X)'s rows and columns: m x k for A, k x n for B.</summary>
        internal int Rows { get; }
        internal int Cols { get; }
        internal bool IsA { get; }
        /// <summary>The micro-kernel family whose MR and NR it was packed for.</summary>
        internal Isa Isa { get; }
    }

    /// <summary>
    /// Packs op(X) (rows x cols; X stored cols x rows when <paramref name="trans"/>) for the selected
    /// micro-kernel, as the GEMM's A (rows = m, cols = k) or B (rows = k, cols = n).
    /// </summary>
    internal static Packed Prepack(bool isA, bool trans, int rows, int cols, float* x, int ld)
    {
        var isa = Selected;
        var (mr, nr) = Shape(isa);
        int k = isA ? cols : rows, padded = isA ? RoundUp(Math.Max(rows, 1), mr) : RoundUp(Math.Max(cols, 1), nr);
        var packed = new Packed(Math.Max(1, padded * k), rows, cols, isA, isa);
        var job = new GemmJob();
        if (isA) job.Set(trans, false, rows, 0, cols, 1f, x, ld, null, 0, 0f, null, 0, isa);
        else job.Set(false, trans, 0, cols, rows, 1f, null, 0, x, ld, 0f, null, 0, isa);
        float* d = packed.Data;
        for (int pc = 0; pc < k; pc += KC)
        {
            int kc = Math.Min(KC, k - pc);
            if (isA) job.PackARows(0, pc, rows, kc, d + (long)padded * pc);
            else job.PackBColumns(pc, 0, kc, cols, d + (long)padded * pc);
        }
        return packed;
    }

    /// <summary><see cref="Prepack(bool, bool, int, int, float*, int)"/> of a checked span.</summary>
    internal static Packed Prepack(bool isA, bool trans, int rows, int cols, ReadOnlySpan<float> x, int ld)
    {
        if (rows < 0 || cols < 0) throw new ArgumentException($"Sgemm: expected non-negative sizes; got {rows} x {cols}");
        CheckMatrix(isA ? "A" : "B", x.Length, trans ? cols : rows, trans ? rows : cols, ld);
        fixed (float* px = x) return Prepack(isA, trans, rows, cols, px, ld);
    }

    /// <summary>
    /// C (m x n) = alpha * op(A) * op(B) + beta * C with one operand prepacked: A (then B is not transposed,
    /// <paramref name="other"/> is B with leading dimension <paramref name="ld"/>, and <paramref name="size"/> is n)
    /// or B (then <paramref name="other"/> is A, transposed when <paramref name="transOther"/>, and <paramref name="size"/> is m).
    /// </summary>
    internal static void Run(Packed packed, bool transOther, int size, float alpha, float* other, int ld, float beta, float* c, int ldc)
    {
        CheckIsa(packed);
        if (packed.IsA && transOther) throw new ArgumentException("Gemm: with A prepacked, B is read untransposed", nameof(transOther));
        int m = packed.IsA ? packed.Rows : size, n = packed.IsA ? size : packed.Cols, k = packed.IsA ? packed.Cols : packed.Rows;
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        float* pp = packed.Data;
        {
            var job = t_job ??= new GemmJob();
            if (packed.IsA) job.Set(false, false, m, n, k, alpha, null, 0, other, ld, beta, c, ldc, Selected);
            else job.Set(transOther, false, m, n, k, alpha, other, ld, null, 0, beta, c, ldc, Selected);
            if (packed.IsA) job.PackedA = pp;
            else job.PackedB = pp;
            Dispatch(job, m, n, k);
        }
        GC.KeepAlive(packed); // its pinned panels, read through pp
    }

    /// <summary>
    /// Columns [<paramref name="j0"/>, <paramref name="j1"/>) of C (m x n) = alpha * op(A) * op(B) + beta * C with B
    /// prepacked, on the calling thread alone: one chunk of a kernel that splits its own work over the cores by
    /// columns. <paramref name="j0"/> is a multiple of NR, so that the chunk starts at a micro-panel of B.
    /// </summary>
    internal static void RunColumns(Packed packedB, bool transA, int m, float alpha, float* a, int lda, float beta, float* c, int ldc, int j0, int j1)
    {
        if (packedB.IsA) throw new ArgumentException("Gemm.RunColumns: expected B prepacked; got A", nameof(packedB));
        CheckIsa(packedB);
        int nr = Shape(Selected).Nr, n = packedB.Cols, k = packedB.Rows;
        if (j0 < 0 || j1 > n || (j0 < j1 && j0 % nr != 0))
            throw new ArgumentException($"Gemm.RunColumns: expected columns [j0, j1) within [0, {n}) with j0 a multiple of {nr}; got [{j0}, {j1})");
        if (m == 0 || j1 <= j0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(m, j1 - j0, beta, c + j0, ldc);
            return;
        }
        var job = t_job ??= new GemmJob();
        job.Set(transA, false, m, n, k, alpha, a, lda, null, 0, beta, c, ldc, Selected);
        job.PackedB = packedB.Data;
        job.Columns(j0, j1);
        GC.KeepAlive(packedB);
    }

    /// <summary>
    /// Rows [<paramref name="i0"/>, <paramref name="i1"/>) of C (m x n) = alpha * op(A) * B + beta * C with A
    /// prepacked, on the calling thread alone: one chunk of a kernel that splits its own work over the cores by
    /// rows. <paramref name="i0"/> is a multiple of MR, so that the chunk starts at a micro-panel of A.
    /// </summary>
    internal static void RunRows(Packed packedA, int n, float alpha, float* b, int ldb, float beta, float* c, int ldc, int i0, int i1)
    {
        if (!packedA.IsA) throw new ArgumentException("Gemm.RunRows: expected A prepacked; got B", nameof(packedA));
        CheckIsa(packedA);
        int mr = Shape(Selected).Mr, m = packedA.Rows, k = packedA.Cols;
        if (i0 < 0 || i1 > m || (i0 < i1 && i0 % mr != 0))
            throw new ArgumentException($"Gemm.RunRows: expected rows [i0, i1) within [0, {m}) with i0 a multiple of {mr}; got [{i0}, {i1})");
        if (n == 0 || i1 <= i0) return;
        if (k == 0 || alpha == 0)
        {
            ScaleC(i1 - i0, n, beta, c + (long)i0 * ldc, ldc);
            return;
        }
        var job = t_job ??= new GemmJob();
        job.Set(false, false, m, n, k, alpha, null, 0, b, ldb, beta, c, ldc, Selected);
        job.PackedA = packedA.Data;
        job.Rows(i0, i1);
        GC.KeepAlive(packedA);
    }

    /// <summary>Refuses panels packed for another micro-kernel than the selected one (their MR and NR differ).</summary>
    static void CheckIsa(Packed packed)
    {
        if (packed.Isa != Selected)
            throw new InvalidOperationException($"Gemm: {(packed.IsA ? "A" : "B")} was packed for {packed.Isa}, the selected micro-kernel is {Selected}");
    }

    /// <summary><see cref="Run(Packed, bool, int, float, float*, int, float, float*, int)"/> on checked spans.</summary>
    internal static void SgemmPrepacked(Packed packed, bool transOther, int size, float alpha, ReadOnlySpan<float> other, int ld, float beta, Span<float> c, int ldc)
    {
        if (size < 0) throw new ArgumentException($"Sgemm: expected non-negative sizes; got {size}");
        if (packed.IsA) CheckMatrix("B", other.Length, packed.Cols, size, ld);
        else CheckMatrix("A", other.Length, transOther ? packed.Rows : size, transOther ? size : packed.Rows, ld);
        CheckMatrix("C", c.Length, packed.IsA ? packed.Rows : size, packed.IsA ? size : packed.Cols, ldc);
        fixed (float* po = other, pc = c) Run(packed, transOther, size, alpha, po, ld, beta, pc, ldc);
    }

    /// <summary>
    /// How a parallel C (m x n x k) = A B with A prepacked or not would be split: over columns of C or rows, in how
    /// many chunks (1: not split), each a whole number of micro-panels of Block columns or rows.
    /// </summary>
    internal static (bool Columns, int Chunks, int Block) Split(int m, int n, int k, bool packedA)
    {
        var (mr, nr) = Shape(Selected);
        bool columns = SplitsColumns(m, n, mr, nr, packedA, false);
        var (_, chunks) = Chunks(columns ? (n + nr - 1) / nr : (m + mr - 1) / mr, m, n, k);
        return (columns, chunks, columns ? nr : mr);
    }

    /// <summary>Part <paramref name="part"/> of [0, size) in whole blocks, as even as blocks allow: a chunk of a split.</summary>
    internal static (int Start, int End) Range(int size, int block, int part, int parts)
    {
        int blocks = (size + block - 1) / block;
        int lo = (int)((long)blocks * part / parts) * block, hi = (int)((long)blocks * (part + 1) / parts) * block;
        return (Math.Min(lo, size), Math.Min(hi, size));
    }

    static bool SplitsColumns(int m, int n, int mr, int nr, bool packedA, bool packedB)
    {
        int colPanels = (n + nr - 1) / nr, rowPanels = (m + mr - 1) / mr;
        int enough = MinPanelsPerChunk * ChunksPerThread * Threading.NumThreads;
        if (colPanels >= enough && rowPanels >= enough)
        {
            long copyA = packedA ? 0 : (long)m, copyB = packedB ? 0 : (long)n; // times k
            return copyA <= copyB;
        }
        return colPanels >= rowPanels;
    }

    static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        for (int i = 0; i < m; i++)
        {
            var row = new Span<float>(c + (long)i * ldc, n);
            if (beta == 0) row.Clear();
            else if (beta != 1) System.Numerics.Tensors.TensorPrimitives.Multiply(row, beta, row);
        }
    }

    /// <summary>One call's arguments and its split into chunks: by rows or by columns of C.</summary>
    sealed class GemmJob : IParallelJob
    {
        bool _transA, _transB;
        int _m, _n, _k, _lda, _ldb, _ldc, _mr, _nr;
        float _alpha, _beta;
        float* _a, _b, _c;
        Isa _isa;

        /// <summary>op(A) or op(B) already packed (<see cref="Packed"/>), or null to pack it per block.</summary>
        public float* PackedA, PackedB;

        /// <summary><see cref="PackA"/> and <see cref="PackB"/> for <see cref="Prepack(bool, bool, int, int, float*, int)"/>.</summary>
        public void PackARows(int ic, int pc, int mc, int kc, float* dst) => PackA(ic, pc, mc, kc, dst);
        public void PackBColumns(int pc, int jc, int kc, int nc, float* dst) => PackB(pc, jc, kc, nc, dst);

        public void Set(bool transA, bool transB, int m, int n, int k, float alpha,
            float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, Isa isa)
        {
            (_transA, _transB, _m, _n, _k, _alpha, _lda, _ldb, _beta, _ldc, _isa) =
                (transA, transB, m, n, k, alpha, lda, ldb, beta, ldc, isa);
            _a = a; _b = b; _c = c;
            (_mr, _nr) = Shape(isa);
            PackedA = PackedB = null;
        }

        /// <summary>
        /// Split over columns or rows of C. Each chunk packs the whole of the operand it does not split
        /// (all of B for a row split, all of A for a column split), so when both dimensions have micro-panels
        /// enough for every chunk, the split copies the smaller operand: a prepacked one costs nothing, and of
        /// A (m x k) and B (k x n) the smaller is the one with fewer rows or columns (a convolution's 512 x 4608
        /// weights against its 4608 x 1568 columns). Otherwise the dimension with more micro-panels.
        /// </summary>
        bool SplitColumns => SplitsColumns(_m, _n, _mr, _nr, PackedA != null, PackedB != null);

        /// <summary>All rows of C by columns [j0, j1), on this thread.</summary>
        public void Columns(int j0, int j1) => Serial(0, _m, j0, j1);

        /// <summary>Rows [i0, i1) of C by all its columns, on this thread.</summary>
        public void Rows(int i0, int i1) => Serial(i0, i1, 0, _n);

        /// <summary>How many micro-panels the split dimension has: the most chunks worth making.</summary>
        public int Blocks() => SplitColumns ? (_n + _nr - 1) / _nr : (_m + _mr - 1) / _mr;

        public void RunChunk(int part, int parts)
        {
            if (SplitColumns)
            {
                var (j0, j1) = Range(_n, _nr, part, parts);
                if (j1 > j0) Serial(0, _m, j0, j1);
            }
            else
            {
                var (i0, i1) = Range(_m, _mr, part, parts);
                if (i1 > i0) Serial(i0, i1, 0, _n);
            }
        }

        /// <summary>The five BLIS loops over rows [i0, i1) and columns [j0, j1) of C.</summary>
        void Serial(int i0, int i1, int j0, int j1)
        {
            int mr = _mr, nr = _nr;
            int mcBlock = Math.Max(mr, MCRows / mr * mr);
            var buf = t_buffers ??= new PackBuffers();
            // Reading B in place pays when a packed panel would be reused by few row blocks, unless B's
            // rows are a multiple of 2 KB apart: the kc rows of a panel then fall into a few L1 sets and
            // evict each other (the dip at n = 1024, where each chunk had few enough rows to read B in place).
            bool directB = PackedB == null && !_transB && i1 - i0 <= 2 * mcBlock && _ldb % 512 != 0;
            float* packA = PackedA != null ? null : buf.A(mcBlock * KC);
            float* packB = PackedB != null ? null : buf.B(KC * RoundUp(directB ? nr : Math.Min(NC, j1 - j0), nr));
            float* tile = stackalloc float[8 * 32]; // the largest MR x NR
            for (int jc = j0; jc < j1; jc += NC)
            {
                int nc = Math.Min(NC, j1 - jc);
                for (int pc = 0; pc < _k; pc += KC)
                {
                    int kc = Math.Min(KC, _k - pc);
                    float beta = pc == 0 ? _beta : 1f;
                    if (PackedB != null) packB = PackedB + (long)RoundUp(_n, nr) * pc + (long)jc * kc;
                    else if (!directB) PackB(pc, jc, kc, nc, packB);
                    for (int ic = i0; ic < i1; ic += mcBlock)
                    {
                        int mc = Math.Min(mcBlock, i1 - ic);
                        float* aBlock = packA;
                        if (PackedA != null) aBlock = PackedA + (long)RoundUp(_m, mr) * pc + (long)ic * kc;
                        else PackA(ic, pc, mc, kc, packA);
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            int nrr = Math.Min(nr, nc - jr);
                            float* bp; nint bStride;
                            if (!directB) { bp = packB + (long)jr * kc; bStride = nr; }
                            else if (nrr == nr) { bp = _b + (long)pc * _ldb + jc + jr; bStride = _ldb; }
                            else { PackBPanel(pc, jc + jr, kc, nrr, packB); bp = packB; bStride = nr; }
                            for (int ir = 0; ir < mc; ir += mr)
                            {
                                int mrr = Math.Min(mr, mc - ir);
                                float* ap = aBlock + (long)ir * kc;
                                float* cp = _c + (long)(ic + ir) * _ldc + jc + jr;
                                if (mrr == mr && nrr == nr) Kernel(kc, ap, bp, bStride, cp, _ldc, _alpha, beta);
                                else EdgeTile(kc, ap, bp, bStride, cp, mrr, nrr, beta, tile);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>A partial tile: computed whole into a scratch tile, then the valid part copied out.</summary>
        void EdgeTile(int kc, float* ap, float* bp, nint bStride, float* cp, int mrr, int nrr, float beta, float* tile)
        {
            int nr = _nr;
            if (beta != 0)
                for (int r = 0; r < mrr; r++)
                    new ReadOnlySpan<float>(cp + (long)r * _ldc, nrr).CopyTo(new Span<float>(tile + r * nr, nrr));
            Kernel(kc, ap, bp, bStride, tile, nr, _alpha, beta);
            for (int r = 0; r < mrr; r++)
                new ReadOnlySpan<float>(tile + r * nr, nrr).CopyTo(new Span<float>(cp + (long)r * _ldc, nrr));
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void Kernel(int kc, float* a, float* b, nint bStride, float* c, nint ldc, float alpha, float beta)
        {
            switch (_isa)
            {
                case Isa.Vector512: MicroKernels.Kernel8x32(kc, a, b, bStride, c, ldc, alpha, beta); break;
                case Isa.Vector256: MicroKernels.Kernel6x16(kc, a, b, bStride, c, ldc, alpha, beta); break;
                default: MicroKernels.Kernel4x8(kc, a, b, bStride, c, ldc, alpha, beta); break;
            }
        }

        /// <summary>
        /// Packs rows [ic, ic+mc) x columns [pc, pc+kc) of op(A) into MR-tall micro-panels, each laid
        /// out p-major (MR values per p); rows past the end are zero.
        /// </summary>
        void PackA(int ic, int pc, int mc, int kc, float* dst)
        {
            int mr = _mr;
            for (int ir = 0; ir < mc; ir += mr)
            {
                int rows = Math.Min(mr, mc - ir);
                float* d = dst + (long)ir * kc;
                if (_transA)
                {
                    // op(A)[i, p] = A[p, i]: MR consecutive values of row p of A
                    if (rows == 8 && mr == 8)
                    {
                        for (int p = 0; p < kc; p++)
                            Vector256.Store(Vector256.Load(_a + (long)(pc + p) * _lda + ic + ir), d + p * 8);
                        continue;
                    }
                    for (int p = 0; p < kc; p++)
                    {
                        float* s = _a + (long)(pc + p) * _lda + ic + ir;
                        float* dp = d + p * mr;
                        int r = 0;
                        for (; r < rows; r++) dp[r] = s[r];
                        for (; r < mr; r++) dp[r] = 0;
                    }
                }
                else if (rows == mr)
                {
                    // Row-major A: write the panel sequentially, reading MR row streams in step.
                    float* s = _a + (long)(ic + ir) * _lda + pc;
                    long lda = _lda;
                    int p0 = 0;
                    if (mr == 8 && Avx.IsSupported)
                        for (; p0 + 8 <= kc; p0 += 8) Transpose8x8(s + p0, lda, d + p0 * 8, 8);
                    for (int p = p0; p < kc; p++)
                    {
                        float* sp = s + p;
                        float* dp = d + p * mr;
                        for (int r = 0; r < mr; r++) dp[r] = sp[r * lda];
                    }
                }
                else
                {
                    for (int r = 0; r < rows; r++)
                    {
                        float* s = _a + (long)(ic + ir + r) * _lda + pc;
                        for (int p = 0; p < kc; p++) d[p * mr + r] = s[p];
                    }
                    for (int r = rows; r < mr; r++)
                        for (int p = 0; p < kc; p++) d[p * mr + r] = 0;
                }
            }
        }

        /// <summary>Packs rows [pc, pc+kc) x columns [jc, jc+nc) of op(B) into NR-wide micro-panels.</summary>
        void PackB(int pc, int jc, int kc, int nc, float* dst)
        {
            int nr = _nr;
            for (int jr = 0; jr < nc; jr += nr)
                PackBPanel(pc, jc + jr, kc, Math.Min(nr, nc - jr), dst + (long)jr * kc);
        }

        /// <summary>One micro-panel of op(B): kc rows of NR values, columns past <paramref name="cols"/> zero.</summary>
        void PackBPanel(int pc, int j, int kc, int cols, float* d)
        {
            int nr = _nr;
            if (!_transB)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* s = _b + (long)(pc + p) * _ldb + j;
                    float* dp = d + p * nr;
                    new ReadOnlySpan<float>(s, cols).CopyTo(new Span<float>(dp, cols));
                    if (cols < nr) new Span<float>(dp + cols, nr - cols).Clear();
                }
            }
            else
            {
                // op(B)[p, j] = B[j, p]: column c of the panel is a contiguous run of row j+c of B
                int c0 = 0;
                if (Avx.IsSupported)
                    for (; c0 + 8 <= cols; c0 += 8)
                    {
                        float* s = _b + (long)(j + c0) * _ldb + pc;
                        int p = 0;
                        for (; p + 8 <= kc; p += 8) Transpose8x8(s + p, _ldb, d + (long)p * nr + c0, nr);
                        for (; p < kc; p++)
                            for (int cc = 0; cc < 8; cc++) d[p * nr + c0 + cc] = s[(long)cc * _ldb + p];
                    }
                for (int cc = c0; cc < cols; cc++)
                {
                    float* s = _b + (long)(j + cc) * _ldb + pc;
                    for (int p = 0; p < kc; p++) d[p * nr + cc] = s[p];
                }
                for (int cc = cols; cc < nr; cc++)
                    for (int p = 0; p < kc; p++) d[p * nr + cc] = 0;
            }
        }
    }

    /// <summary>
    /// dst[k * dstStride + i] = src[i * srcStride + k] for an 8 x 8 block: eight row loads, the
    /// classic unpack / shuffle / lane-permute transpose, eight row stores. Packing a transposed
    /// operand this way instead of element by element is what makes X W^T (a Linear layer's
    /// forward) run at the speed of an untransposed product.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(float* src, long srcStride, float* dst, long dstStride)
    {
        var r0 = Avx.LoadVector256(src);
        var r1 = Avx.LoadVector256(src + srcStride);
        var r2 = Avx.LoadVector256(src + 2 * srcStride);
        var r3 = Avx.LoadVector256(src + 3 * srcStride);
        var r4 = Avx.LoadVector256(src + 4 * srcStride);
        var r5 = Avx.LoadVector256(src + 5 * srcStride);
        var r6 = Avx.LoadVector256(src + 6 * srcStride);
        var r7 = Avx.LoadVector256(src + 7 * srcStride);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + 2 * dstStride, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + 3 * dstStride, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + 4 * dstStride, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + 5 * dstStride, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + 6 * dstStride, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + 7 * dstStride, Avx.Permute2x128(u3, u7, 0x31));
    }

    internal static (int Mr, int Nr) Shape(Isa isa) => isa switch
    {
        Isa.Vector512 => (8, 32),
        Isa.Vector256 => (6, 16),
        _ => (4, 8),
    };

    static int RoundUp(int x, int m) => (x + m - 1) / m * m;

    [ThreadStatic] static PackBuffers? t_buffers;

    /// <summary>A thread's packing buffers: native, 64-byte aligned, grown on demand, freed with the thread.</summary>
    sealed class PackBuffers
    {
        float* _a, _b;
        nuint _aCap, _bCap;

        public float* A(int floats) => Ensure(ref _a, ref _aCap, floats);
        public float* B(int floats) => Ensure(ref _b, ref _bCap, floats);

        static float* Ensure(ref float* p, ref nuint cap, int floats)
        {
            if ((nuint)floats <= cap) return p;
            if (p != null) NativeMemory.AlignedFree(p);
            p = (float*)NativeMemory.AlignedAlloc((nuint)floats * sizeof(float), 64);
            cap = (nuint)floats;
            return p;
        }

        ~PackBuffers()
        {
            if (_a != null) NativeMemory.AlignedFree(_a);
            if (_b != null) NativeMemory.AlignedFree(_b);
        }
    }
}
