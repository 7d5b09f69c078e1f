// Bilinear resize of src [N, H, W] planes to dst [N, OH, OW], as PyTorch's
// F.interpolate(mode="bilinear", align_corners=False, antialias=False):
// source coordinate (o + 0.5)·in/out − 0.5, clamped at 0. One thread per value.
extern "C" __global__ void gsam_resize_bilinear(float* dst, const float* src, int N, int H, int W, int OH, int OW) {
    long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    long long total = (long long)N * OH * OW;
    if (idx >= total) return;
    int ox = (int)(idx % OW);
    int oy = (int)((idx / OW) % OH);
    long long n = idx / ((long long)OW * OH);
    float sh = (float)H / (float)OH, sw = (float)W / (float)OW;
    float fy = fmaxf((oy + 0.5f) * sh - 0.5f, 0.0f);
    float fx = fmaxf((ox + 0.5f) * sw - 0.5f, 0.0f);
    int y0 = (int)fy, x0 = (int)fx;
    int y1 = y0 + (y0 < H - 1 ? 1 : 0), x1 = x0 + (x0 < W - 1 ? 1 : 0);
    float ly = fy - y0, lx = fx - x0, hy = 1.0f - ly, hx = 1.0f - lx;
    const float* p = src + n * H * W;
    dst[idx] = hy * (hx * p[y0 * W + x0] + lx * p[y0 * W + x1]) + ly * (hx * p[y1 * W + x0] + lx * p[y1 * W + x1]);
}
