#include <math.h>
#include <string.h>
#include <thread>
#include <barrier>
#include <vector>
#include <memory>
struct Dim { unsigned x = 1, y = 1, z = 1; };
thread_local Dim threadIdx, blockIdx;
Dim blockDim, gridDim;
#define __global__
#define __device__
#define __shared__ static
static std::barrier<>* block_bar;
static std::barrier<>* warp_bar[32];
static float shfl_buf[1024];
#define __syncthreads() block_bar->arrive_and_wait()
inline float __shfl_xor_sync(unsigned, float v, int o) {
    int t = threadIdx.x;
    shfl_buf[t] = v;
    warp_bar[t >> 5]->arrive_and_wait();
    float r = shfl_buf[t ^ o];
    warp_bar[t >> 5]->arrive_and_wait();
    return r;
}
inline float __int_as_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
template <typename F, typename... A>
void launch(F f, unsigned grid, unsigned block, A... a) {
    gridDim.x = grid; blockDim.x = block;
    for (unsigned b = 0; b < grid; b++) {
        std::barrier<> bb(block);
        block_bar = &bb;
        std::vector<std::unique_ptr<std::barrier<>>> wb;
        for (unsigned w = 0; w < (block + 31) / 32; w++) { wb.emplace_back(new std::barrier<>(32)); warp_bar[w] = wb.back().get(); }
        std::vector<std::thread> ts;
        for (unsigned t = 0; t < block; t++) ts.emplace_back([=] { threadIdx.x = t; blockIdx.x = b; f(a...); });
        for (auto& t : ts) t.join();
    }
}
template <typename F, typename... A>
void launch_flat(F f, unsigned grid, unsigned block, A... a) {  // no barriers used: run serially
    gridDim.x = grid; blockDim.x = block;
    for (unsigned b = 0; b < grid; b++) for (unsigned t = 0; t < block; t++) { threadIdx.x = t; blockIdx.x = b; f(a...); }
}
