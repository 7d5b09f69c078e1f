#include "all.cpp"
#include <cstdio>
#include <random>
#include <algorithm>
static std::mt19937 rng(1);
std::vector<float> rnd(size_t n, float lo, float hi) { std::uniform_real_distribution<float> d(lo, hi); std::vector<float> v(n); for (auto& x : v) x = d(rng); return v; }
int fails = 0;
void cmp(const char* name, const std::vector<float>& got, const std::vector<float>& want) {
    int bad = 0; double mx = 0;
    for (size_t i = 0; i < want.size(); i++) { double e = fabs((double)got[i] - want[i]); mx = std::max(mx, e); if (!(e <= 1e-4 + 1e-3 * fabs(want[i]))) bad++; }
    printf("%-20s %s maxabs=%.3g bad=%d/%zu\n", name, bad ? "FAIL" : "ok", mx, bad, want.size());
    if (bad) fails++;
}
int main() {
    { // layernorm
        int rows = 5, d = 771; auto x = rnd(rows * d, -3, 5), w = rnd(d, .5, 1.5), b = rnd(d, -.5, .5); auto want = x;
        for (int r = 0; r < rows; r++) { double m = 0, v = 0; for (int i = 0; i < d; i++) m += x[r*d+i]; m /= d; for (int i = 0; i < d; i++) v += (x[r*d+i]-m)*(x[r*d+i]-m); v /= d;
            for (int i = 0; i < d; i++) want[r*d+i] = (float)((x[r*d+i]-m)/sqrt(v+1e-12))*w[i]+b[i]; }
        launch(gsam_layernorm, rows, 256, x.data(), (const float*)w.data(), (const float*)b.data(), rows, d, 1e-12f); cmp("layernorm", x, want);
    }
    { // gelu + bias
        auto x = rnd(10007, -6, 6); auto want = x; for (auto& v : want) v = 0.5 * v * (1 + erf(v / sqrt(2.0)));
        launch_flat(gsam_gelu, 7, 256, x.data(), (long long)x.size()); cmp("gelu", x, want);
        int rows = 13, n = 77; auto y = rnd(rows*n, -1, 1), bias = rnd(n, -1, 1); auto wy = y; for (int i = 0; i < rows*n; i++) wy[i] += bias[i % n];
        launch_flat(gsam_bias_add, 3, 256, y.data(), (const float*)bias.data(), (long long)rows, n); cmp("bias_add", y, wy);
    }
    { // softmax
        int B = 2, H = 3, Lq = 5, Lk = 300;
        for (int mb : {0, 1, 2, 3}) { int mB = (mb & 1) ? B : 1, mH = (mb & 2) ? H : 1;
            auto x = rnd(B*H*Lq*Lk, -8, 8); std::vector<float> mask(mB*mH*Lq*Lk, 0.f);
            for (auto& m : mask) { int c = rng() % 4; if (c == 0) m = -INFINITY; else if (c == 1) m = -3.4028235e38f; }
            for (int j = 0; j < Lk; j++) mask[3*Lk+j] = -INFINITY;
            auto want = x;
            for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) for (int q = 0; q < Lq; q++) {
                float* row = &want[((b*H+h)*Lq+q)*Lk]; const float* m = &mask[(((mB==1?0:b)*mH + (mH==1?0:h))*Lq+q)*Lk];
                float mx = -INFINITY; for (int j = 0; j < Lk; j++) { row[j] += m[j]; mx = std::max(mx, row[j]); }
                if (mx == -INFINITY) { for (int j = 0; j < Lk; j++) row[j] = 0; continue; }
                double s = 0; for (int j = 0; j < Lk; j++) { row[j] = exp(row[j]-mx); s += row[j]; } for (int j = 0; j < Lk; j++) row[j] /= s; }
            launch(gsam_softmax_rows, B*H*Lq, 256, x.data(), (const float*)mask.data(), B*H*Lq, Lk, H, Lq, mB, mH); cmp("softmax", x, want);
        }
    }
    { // groupnorm
        int B = 2, C = 8, HW = 37, G = 4, cg = C / G; auto x = rnd(B*C*HW, -2, 3), w = rnd(C, .5, 1.5), b = rnd(C, -.5, .5); auto want = x;
        for (int bi = 0; bi < B; bi++) for (int g = 0; g < G; g++) { float* s = &want[(bi*C+g*cg)*HW]; int n = cg*HW; double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += s[i]; m /= n; for (int i = 0; i < n; i++) v += (s[i]-m)*(s[i]-m); v /= n;
            for (int i = 0; i < n; i++) { int ch = g*cg + i / HW; s[i] = (float)((s[i]-m)/sqrt(v+1e-5))*w[ch]+b[ch]; } }
        launch(gsam_groupnorm, B*G, 256, x.data(), (const float*)w.data(), (const float*)b.data(), B, C, HW, G, 1e-5f); cmp("groupnorm", x, want);
    }
    { // msdeform vs grid_sample-style reference
        int Hs[3] = {7, 4, 2}, Ws[3] = {9, 5, 3}; GsamLevels lv{}; int S = 0, L = 3;
        for (int l = 0; l < L; l++) { lv.h[l] = Hs[l]; lv.w[l] = Ws[l]; lv.start[l] = S; S += Hs[l]*Ws[l]; }
        int B = 2, H = 2, D = 5, Q = 11, P = 3;
        auto value = rnd(B*S*H*D, -1, 1), locs = rnd(B*Q*H*L*P*2, -0.1, 1.1), aw = rnd(B*Q*H*L*P, 0, 1);
        std::vector<float> out(B*Q*H*D), want(B*Q*H*D, 0.f);
        for (int b = 0; b < B; b++) for (int q = 0; q < Q; q++) for (int h = 0; h < H; h++) for (int l = 0; l < L; l++) for (int p = 0; p < P; p++) {
            int i = (((b*Q+q)*H+h)*L+l)*P+p; double x = locs[2*i]*Ws[l] - 0.5, y = locs[2*i+1]*Hs[l] - 0.5; int x0 = floor(x), y0 = floor(y);
            for (int dy = 0; dy < 2; dy++) for (int dx = 0; dx < 2; dx++) { int xi = x0+dx, yi = y0+dy; if (xi < 0 || yi < 0 || xi >= Ws[l] || yi >= Hs[l]) continue;
                double wgt = (1-fabs(x-xi))*(1-fabs(y-yi))*aw[i];
                for (int d = 0; d < D; d++) want[((b*Q+q)*H+h)*D+d] += wgt * value[((b*S + lv.start[l] + yi*Ws[l]+xi)*H+h)*D+d]; } }
        int n = B*Q*H*D; launch_flat(gsam_msdeform, (n+255)/256, 256, out.data(), (const float*)value.data(), lv, (const float*)locs.data(), (const float*)aw.data(), B, S, H, D, Q, L, P);
        cmp("msdeform", out, want);
    }
    { // window partition / reverse
        int B = 2, H = 14, W = 21, C = 3, ws = 7;
        for (int shift : {0, 3}) { auto x = rnd(B*H*W*C, -1, 1); std::vector<float> rolled(x.size()), want(x.size()), got(x.size()), back(x.size());
            for (int b = 0; b < B; b++) for (int y = 0; y < H; y++) for (int xx = 0; xx < W; xx++) for (int c = 0; c < C; c++)
                rolled[((b*H+y)*W+xx)*C+c] = x[((b*H+(y+shift)%H)*W+(xx+shift)%W)*C+c];  // torch.roll(x, -shift)
            int i = 0; for (int b = 0; b < B; b++) for (int wy = 0; wy < H/ws; wy++) for (int wx = 0; wx < W/ws; wx++) for (int ty = 0; ty < ws; ty++) for (int tx = 0; tx < ws; tx++) for (int c = 0; c < C; c++)
                want[i++] = rolled[((b*H+wy*ws+ty)*W+wx*ws+tx)*C+c];
            int n = x.size(); launch_flat(gsam_window_partition, (n+255)/256, 256, got.data(), (const float*)x.data(), B, H, W, C, ws, shift, 0); cmp("window", got, want);
            launch_flat(gsam_window_partition, (n+255)/256, 256, back.data(), (const float*)got.data(), B, H, W, C, ws, shift, 1); cmp("window reverse", back, x); }
    }
    { // im2col: conv from the definition
        int C = 3, H = 9, W = 11, k = 3, s = 2, pad = 1, O = 4; int OH = (H+2*pad-k)/s+1, OW = (W+2*pad-k)/s+1;
        auto x = rnd(C*H*W, -1, 1), w = rnd(O*C*k*k, -1, 1); std::vector<float> col(C*k*k*OH*OW), got(O*OH*OW, 0.f), want(O*OH*OW, 0.f);
        launch_flat(gsam_im2col, (col.size()+255)/256, 256, col.data(), (const float*)x.data(), C, H, W, k, k, s, pad, OH, OW);
        for (int o = 0; o < O; o++) for (int p = 0; p < OH*OW; p++) { double a = 0, r = 0; int oy = p / OW, ox = p % OW;
            for (int c = 0; c < C; c++) for (int i = 0; i < k; i++) for (int j = 0; j < k; j++) { a += w[((o*C+c)*k+i)*k+j] * col[((c*k+i)*k+j)*OH*OW+p];
                int iy = oy*s-pad+i, ix = ox*s-pad+j; if (iy >= 0 && iy < H && ix >= 0 && ix < W) r += w[((o*C+c)*k+i)*k+j] * x[(c*H+iy)*W+ix]; }
            got[o*OH*OW+p] = a; want[o*OH*OW+p] = r; }
        cmp("im2col conv", got, want);
    }
    { // resize: known values (2x upsample of a 2x2 ramp, PyTorch gives these)
        std::vector<float> src = {0, 1, 2, 3}, dst(16);
        launch_flat(gsam_resize_bilinear, 1, 256, dst.data(), (const float*)src.data(), 1, 2, 2, 4, 4);
        std::vector<float> want = {0, .25, .75, 1, .5, .75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3};
        cmp("resize 2x", dst, want);
        std::vector<float> d2(4); launch_flat(gsam_resize_bilinear, 1, 256, d2.data(), (const float*)dst.data(), 1, 4, 4, 2, 2);
        cmp("resize down", d2, {0.375f, 1.125f, 1.875f, 2.625f});
    }
    printf("%d failures\n", fails);
    return fails != 0;
}
