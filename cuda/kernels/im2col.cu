// im2col for one image: in [C, H, W] → col [C*kh*kw, OH*OW], row index
// (c*kh + i)*kw + j as PyTorch's weight layout, zero outside the image.
extern "C" __global__ void gsam_im2col(float* col, const float* in, int C, int H, int W, int kh, int kw, int stride,
                                       int pad, int OH, int OW) {
    long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    long long P = (long long)OH * OW;
    long long total = (long long)C * kh * kw * P;
    if (idx >= total) return;
    int pos = (int)(idx % P);
    int row = (int)(idx / P);
    int j = row % kw, i = (row / kw) % kh, c = row / (kw * kh);
    int oy = pos / OW, ox = pos % OW;
    int iy = oy * stride - pad + i, ix = ox * stride - pad + j;
    col[idx] = (iy >= 0 && iy < H && ix >= 0 && ix < W) ? in[((long long)c * H + iy) * W + ix] : 0.0f;
}
