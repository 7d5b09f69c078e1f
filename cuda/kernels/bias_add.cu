// y[r, j] += bias[j] for rows×n values; grid-stride.
extern "C" __global__ void gsam_bias_add(float* y, const float* bias, long long rows, int n) {
    long long total = rows * n;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        y[i] += bias[i % n];
    }
}
