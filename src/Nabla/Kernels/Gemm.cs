namespace Nabla.Kernels;

/// <summary>Single-precision general matrix multiply: C = alpha * op(A) * op(B) + beta * C, row-major.</summary>
public static class Gemm
{
    /// <summary>
    /// C (m x n, leading dimension ldc) = alpha * op(A) * op(B) + beta * C, where op(A) is m x k
    /// (A stored k x m when <paramref name="transA"/>) and op(B) is k x n (B stored n x k when
    /// <paramref name="transB"/>). All matrices row-major with the given leading dimensions.
    /// When beta is 0, C is not read (NaN in C does not propagate), as in BLAS.
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        // Temporary reference implementation; replaced by the packed kernel.
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                    s += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j]);
                c[i * ldc + j] = beta == 0 ? alpha * s : alpha * s + beta * c[i * ldc + j];
            }
    }
}
