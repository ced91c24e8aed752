// Shared pieces of the fused multi-step neuron kernels of jelly.neurons (CuPy backend).
//
// * Scalar<T>: loads and stores of float, __half and __nv_bfloat16; every kernel computes
//   (and carries its state) in float32 and rounds only what it writes.
// * Pack<T, V>: V consecutive elements moved with one vector load/store.
// * HardReset / SoftReset: the neuron reset and its derivative dv/dh.
// * store_charged: rounds a charged membrane h so that the spike the backward recomputes
//   from the stored value (h >= v_th) is the forward's spike.
//
// Tensors are [T, N, *] and contiguous: step t of element i is at t * numel + i.
// Functions are JELLY_HD (__host__ __device__) so that a CPU harness can check the
// arithmetic; define JELLY_NO_CUDA_HALF there to leave out the 16-bit types.
#pragma once

#ifndef JELLY_HD
#define JELLY_HD __host__ __device__ __forceinline__
#endif

#ifndef JELLY_NO_CUDA_HALF
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#endif

namespace jelly {
namespace neurons {

typedef long long index_t;

template <typename T>
struct Scalar;

template <>
struct Scalar<float> {
    JELLY_HD static float load(float v) { return v; }
    JELLY_HD static float store(float v) { return v; }
    JELLY_HD static float store_down(float v) { return v; }
    JELLY_HD static float store_up(float v) { return v; }
};

#ifndef JELLY_NO_CUDA_HALF
template <>
struct Scalar<__half> {
    JELLY_HD static float load(__half v) { return __half2float(v); }
    JELLY_HD static __half store(float v) { return __float2half_rn(v); }
    JELLY_HD static __half store_down(float v) { return __float2half_rd(v); }
    JELLY_HD static __half store_up(float v) { return __float2half_ru(v); }
};

template <>
struct Scalar<__nv_bfloat16> {
    JELLY_HD static float load(__nv_bfloat16 v) { return __bfloat162float(v); }
    JELLY_HD static __nv_bfloat16 store(float v) { return __float2bfloat16_rn(v); }
    JELLY_HD static __nv_bfloat16 store_down(float v) { return __float2bfloat16_rd(v); }
    JELLY_HD static __nv_bfloat16 store_up(float v) { return __float2bfloat16_ru(v); }
};
#endif

template <typename T>
JELLY_HD float load(T v) {
    return Scalar<T>::load(v);
}

template <typename T>
JELLY_HD T store(float v) {
    return Scalar<T>::store(v);
}

// Round h to T, then step one unit towards the right side of v_th if rounding to nearest
// moved it across: (stored >= v_th) == spike afterwards. A float h is stored as is.
template <typename T>
JELLY_HD T store_charged(float h, bool spike, float v_threshold) {
    T stored = Scalar<T>::store(h);
    if ((Scalar<T>::load(stored) >= v_threshold) != spike) {
        stored = spike ? Scalar<T>::store_up(h) : Scalar<T>::store_down(h);
    }
    return stored;
}

// V consecutive elements of type T, aligned for one vector access.
template <typename T, int V>
struct alignas(sizeof(T) * V) Pack {
    T e[V];
};

template <typename T, int V>
JELLY_HD Pack<T, V> load_pack(const T* base, index_t offset) {
    return *reinterpret_cast<const Pack<T, V>*>(base + offset);
}

template <typename T, int V>
JELLY_HD void store_pack(T* base, index_t offset, const Pack<T, V>& p) {
    *reinterpret_cast<Pack<T, V>*>(base + offset) = p;
}

// Hard reset: v = h (1 - s) + v_reset s, i.e. v_reset where the neuron fired, else h.
// dv/dh = 1 - s + (v_reset - h) g'(h - v_th); the surrogate term is dropped with detach_reset.
struct HardReset {
    static constexpr bool kHard = true;
    float v_reset;
    JELLY_HD static HardReset make(float /*v_threshold*/, float v_reset) { return HardReset{v_reset}; }
    JELLY_HD float apply(float h, bool spike) const { return spike ? v_reset : h; }
    template <bool DetachReset>
    JELLY_HD float dv_dh(float h, bool spike, float sg) const {
        const float kept = spike ? 0.0f : 1.0f;
        return DetachReset ? kept : kept + (v_reset - h) * sg;
    }
};

// Soft reset: v = h - v_th s.  dv/dh = 1 - v_th g'(h - v_th) (1 with detach_reset).
struct SoftReset {
    static constexpr bool kHard = false;
    float v_threshold;
    JELLY_HD static SoftReset make(float v_threshold, float /*v_reset*/) { return SoftReset{v_threshold}; }
    JELLY_HD float apply(float h, bool spike) const { return spike ? h - v_threshold : h; }
    template <bool DetachReset>
    JELLY_HD float dv_dh(float /*h*/, bool /*spike*/, float sg) const {
        return DetachReset ? 1.0f : 1.0f - v_threshold * sg;
    }
};

#ifdef __CUDACC__
// Sum of one float per thread over the block (blockDim.x a multiple of 32, at most 1024);
// the result is valid in thread 0.
__device__ __forceinline__ float block_sum(float value) {
    __shared__ float warp_sums[32];
    for (int offset = 16; offset > 0; offset >>= 1) {
        value += __shfl_down_sync(0xffffffffu, value, offset);
    }
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = value;
    __syncthreads();
    if (warp == 0) {
        const int n_warps = (blockDim.x + 31) >> 5;
        value = lane < n_warps ? warp_sums[lane] : 0.0f;
        for (int offset = 16; offset > 0; offset >>= 1) {
            value += __shfl_down_sync(0xffffffffu, value, offset);
        }
    }
    return value;
}
#endif

}  // namespace neurons
}  // namespace jelly
