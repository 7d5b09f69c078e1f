// Swin window partition with cyclic shift: src [B, H, W, C] rolled by
// -shift on H and W (torch.roll), then cut into ws×ws windows, giving
// dst [B*nW, ws*ws, C] (windows row-major). With reverse != 0 the inverse:
// windows back to [B, H, W, C] and rolled by +shift. H and W must be
// multiples of ws (the caller pads). One thread per value.
extern "C" __global__ void gsam_window_partition(float* dst, const float* src, int B, int H, int W, int C, int ws,
                                                 int shift, int reverse) {
    long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    long long total = (long long)B * H * W * C;
    if (idx >= total) return;
    int c = (int)(idx % C);
    long long t = idx / C;
    int tok = (int)(t % (ws * ws));
    long long bw = t / (ws * ws);
    int nWx = W / ws, nW = (H / ws) * nWx;
    int b = (int)(bw / nW), w = (int)(bw % nW);
    int wy = w / nWx, wx = w % nWx, ty = tok / ws, tx = tok % ws;
    int sy = (wy * ws + ty + shift) % H;
    int sx = (wx * ws + tx + shift) % W;
    long long s = (((long long)b * H + sy) * W + sx) * C + c;
    if (reverse) {
        dst[s] = src[idx];
    } else {
        dst[idx] = src[s];
    }
}
