using Nabla.Kernels;

namespace Nabla;

public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with <c>torch.matmul</c> semantics: two vectors give their dot product (a
    /// scalar); a vector on the left is a 1 x k row and on the right a k x 1 column, the added
    /// dimension removed afterwards; otherwise the last two dimensions multiply as matrices and the
    /// leading (batch) dimensions broadcast.
    /// </summary>
    /// <remarks>
    /// Shapes: (..., m, k) x (..., k, n) -> (broadcast(...), m, n). Forward and backward both run on
    /// <see cref="Gemm.Sgemm"/>, using its transpose flags instead of materialized transposes:
    /// dA = dY B^T and dB = A^T dY, summed over the batches an input was broadcast across.
    /// When the right operand is a plain matrix, the left operand's batches fold into its rows and
    /// the whole product is one GEMM.
    /// </remarks>
    public static Tensor MatMul(Tensor a, Tensor b)
    {
        if (a.Rank == 0 || b.Rank == 0)
            throw new ShapeException("matmul", "tensors with at least one dimension", $"{a.ShapeString} and {b.ShapeString}");
        int ka = a.Dims[^1], kb = b.Rank == 1 ? b.Dims[0] : b.Dims[^2];
        if (ka != kb)
            throw new ShapeException("matmul", "inner dimensions to match", $"{a.ShapeString} and {b.ShapeString}",
                $"the last dimension of the first ({ka}) must equal the {(b.Rank == 1 ? "only" : "second-to-last")} dimension of the second ({kb})");
        var a2 = a.Rank == 1 ? a.Reshape(1, ka) : a; // (k) -> (1, k)
        var b2 = b.Rank == 1 ? b.Reshape(kb, 1) : b; // (k) -> (k, 1)
        var y = BatchedMatMul(a2, b2, a, b);
        if (a.Rank > 1 && b.Rank > 1) return y;
        var dims = new List<int>(y.Dims);
        if (b.Rank == 1) dims.RemoveAt(dims.Count - 1); // (..., m, 1) -> (..., m)
        if (a.Rank == 1) dims.RemoveAt(dims.Count - (b.Rank == 1 ? 1 : 2)); // (..., 1, n) -> (..., n)
        return y.Reshape([.. dims]);
    }

    /// <summary>Instance form of <see cref="MatMul(Tensor, Tensor)"/>.</summary>
    public Tensor MatMul(Tensor other) => MatMul(this, other);

    /// <summary>(..., m, k) x (..., k, n) with broadcast batch dimensions; both of rank at least 2.</summary>
    static Tensor BatchedMatMul(Tensor a, Tensor b, Tensor origA, Tensor origB)
    {
        int m = a.Dims[^2], k = a.Dims[^1], n = b.Dims[^1];
        int[] batchA = a.Dims[..^2], batchB = b.Dims[..^2];
        int[] batch;
        try { batch = Broadcast.Shapes(batchA, batchB, "matmul"); }
        catch (ShapeException)
        {
            throw new ShapeException("matmul", "batch dimensions that broadcast", $"{origA.ShapeString} and {origB.ShapeString}");
        }
        int[] outDims = [.. batch, m, n];
        CheckedNumel(outDims, "matmul");
        var y = new Tensor(outDims, clear: false);
        int count = NumelOf(batch);
        bool fold = batchB.Length == 0; // a plain matrix on the right: one GEMM over all of a's rows
        int[] offA = fold ? [0] : BatchOffsets(batchA, batch, m * k);
        int[] offB = fold ? [0] : BatchOffsets(batchB, batch, k * n);
        if (fold) Product(false, false, count * m, n, k, a.Storage, 0, b.Storage, 0, 0, y.Storage, 0);
        else
            for (int i = 0; i < count; i++)
                Product(false, false, m, n, k, a.Storage, offA[i], b.Storage, offB[i], 0, y.Storage, i * m * n);

        return Record(y, "matmul", [a, b], g =>
        {
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad)
            {
                // dA = dY B^T: (m x n)(n x k)
                if (fold)
                {
                    ga = new Tensor((int[])a.Dims.Clone(), clear: false);
                    Product(false, true, count * m, k, n, g.Storage, 0, b.Storage, 0, 0, ga.Storage, 0);
                }
                else
                {
                    bool shared = NumelOf(batchA) != count; // a was broadcast: batches accumulate
                    ga = new Tensor((int[])a.Dims.Clone(), clear: shared);
                    for (int i = 0; i < count; i++)
                        Product(false, true, m, k, n, g.Storage, i * m * n, b.Storage, offB[i], shared ? 1 : 0, ga.Storage, offA[i]);
                }
            }
            if (b.RequiresGrad)
            {
                // dB = A^T dY: (k x m)(m x n)
                if (fold)
                {
                    gb = new Tensor((int[])b.Dims.Clone(), clear: false);
                    Product(true, false, k, n, count * m, a.Storage, 0, g.Storage, 0, 0, gb.Storage, 0);
                }
                else
                {
                    bool shared = NumelOf(batchB) != count;
                    gb = new Tensor((int[])b.Dims.Clone(), clear: shared);
                    for (int i = 0; i < count; i++)
                        Product(true, false, k, n, m, a.Storage, offA[i], g.Storage, i * m * n, shared ? 1 : 0, gb.Storage, offB[i]);
                }
            }
            return [ga, gb];
        });
    }

    /// <summary>
    /// One GEMM on row-major blocks at the given offsets: C (m x n) = op(A) op(B) + beta C, where
    /// op(A) is m x k and op(B) is k x n. An empty inner dimension gives zeros (or leaves C when beta is 1).
    /// </summary>
    static void Product(bool transA, bool transB, int m, int n, int k, float[] a, int offA, float[] b, int offB,
        float beta, float[] c, int offC)
    {
        if (m == 0 || n == 0) return;
        if (k == 0)
        {
            if (beta == 0) c.AsSpan(offC, m * n).Clear();
            return;
        }
        Gemm.Sgemm(transA, transB, m, n, k, 1f, a.AsSpan(offA, m * k), transA ? m : k,
            b.AsSpan(offB, k * n), transB ? k : n, beta, c.AsSpan(offC, m * n), n);
    }

    /// <summary>The element offset of each output batch's matrix in an operand with batch shape <paramref name="batchDims"/>.</summary>
    static int[] BatchOffsets(int[] batchDims, int[] batch, int matrixSize)
    {
        var st = Broadcast.Strides(batchDims, batch);
        for (int i = 0; i < st.Length; i++) st[i] *= matrixSize;
        return Offsets(batch, st);
    }
}
