// Multi-scale deformable attention, the same computation as cpu.MSDeformAttn:
// bilinear sampling (grid_sample, align_corners=False, zero padding) of
// value [B, S, H, D] at locations [B, Q, H, L, P, 2] (x, y in [0, 1]),
// weighted by [B, Q, H, L, P] and summed into out [B, Q, H*D].
// One thread per output value; neighbouring threads read neighbouring d.

#define GSAM_MAX_LEVELS 8
struct GsamLevels {
    int h[GSAM_MAX_LEVELS];
    int w[GSAM_MAX_LEVELS];
    int start[GSAM_MAX_LEVELS];
};

extern "C" __global__ void gsam_msdeform(float* out, const float* value, GsamLevels lv, const float* locs,
                                         const float* attw, int B, int S, int H, int D, int Q, int L, int P) {
    long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    long long total = (long long)B * Q * H * D;
    if (idx >= total) return;
    int d = (int)(idx % D);
    long long t = idx / D;
    int h = (int)(t % H);
    t /= H;
    int q = (int)(t % Q);
    int b = (int)(t / Q);
    long long base = (((long long)b * Q + q) * H + h) * L * P;
    long long rowStride = (long long)H * D;
    float acc = 0.0f;
    for (int l = 0; l < L; l++) {
        int hl = lv.h[l], wl = lv.w[l];
        float fh = (float)hl, fw = (float)wl;
        const float* v = value + ((long long)b * S + lv.start[l]) * rowStride + (long long)h * D + d;
        for (int p = 0; p < P; p++) {
            long long i = base + l * P + p;
            float x = ((2.0f * locs[2 * i] - 1.0f + 1.0f) * fw - 1.0f) / 2.0f;
            float y = ((2.0f * locs[2 * i + 1] - 1.0f + 1.0f) * fh - 1.0f) / 2.0f;
            if (!(x > -1.0f && y > -1.0f && x < fw && y < fh)) continue;
            float x0f = floorf(x), y0f = floorf(y);
            int x0 = (int)x0f, y0 = (int)y0f, x1 = x0 + 1, y1 = y0 + 1;
            float wx0 = x0f + 1.0f - x, wx1 = x - x0f;
            float wy0 = y0f + 1.0f - y, wy1 = y - y0f;
            float s = 0.0f;
            if (y0 >= 0) {
                if (x0 >= 0) s += wx0 * wy0 * v[((long long)y0 * wl + x0) * rowStride];
                if (x1 < wl) s += wx1 * wy0 * v[((long long)y0 * wl + x1) * rowStride];
            }
            if (y1 < hl) {
                if (x0 >= 0) s += wx0 * wy1 * v[((long long)y1 * wl + x0) * rowStride];
                if (x1 < wl) s += wx1 * wy1 * v[((long long)y1 * wl + x1) * rowStride];
            }
            acc += s * attw[i];
        }
    }
    out[idx] = acc;
}
