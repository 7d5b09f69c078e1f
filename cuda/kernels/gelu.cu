// Exact (erf) GELU in place, as PyTorch's default nn.GELU; grid-stride.
extern "C" __global__ void gsam_gelu(float* x, long long n) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        float v = x[i];
        x[i] = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}
