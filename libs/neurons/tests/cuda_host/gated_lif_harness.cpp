// CPU harness for the fused GLIF kernels (test code, g++).
//
// Runs the per-thread forward and backward bodies of kernels/gated_lif.cu over every thread
// index on the host, float32 only, so the arithmetic of the CUDA source can be compared with
// the torch reference without a GPU. The surrogate is picked at run time by id.
#include <cmath>
#include <cstdint>
#include <type_traits>

#define JELLY_HD inline
#define JELLY_NO_CUDA_HALF 1
#define __restrict__

#include "gated_lif.cu"

using namespace jelly::neurons;
namespace sg = jelly::surrogates;

namespace {

template <class F>
bool with_surrogate(int id, F&& f) {
    switch (id) {
        case 0: f(sg::ATan{}); return true;
        case 1: f(sg::Sigmoid{}); return true;
        case 2: f(sg::PiecewiseQuadratic{}); return true;
    }
    return false;
}

template <class F>
void with_vec(int vec, F&& f) {
    if (vec == 4) f(std::integral_constant<int, 4>{});
    else if (vec == 8) f(std::integral_constant<int, 8>{});
    else f(std::integral_constant<int, 1>{});
}

}  // namespace

// gates: float32 [7, channels]; conduct: float32 [steps, channels];
// partial: float32 [steps + 6, ceil(numel / vec)]. Returns 0 on success, 1 for an unknown surrogate id.
extern "C" int jelly_gated_lif(int surrogate_id, int vec, const float* x, const float* u0, const float* s0,
                               const float* gates, const float* conduct, float* s, float* u, const float* gs,
                               const float* gu, float* gx, float* gu0, float* gs0, float* partial, float sg0,
                               float sg1, int64_t inner, int channels, int64_t numel, int steps) {
    bool known = with_surrogate(surrogate_id, [&](auto tag) {
        using Surrogate = decltype(tag);
        const Surrogate surrogate = Surrogate::from_params(sg0, sg1);
        with_vec(vec, [&](auto vv) {
            constexpr int V = decltype(vv)::value;
            for (index_t i = 0; i * V < numel; ++i)
                gated_lif_forward_thread<float, V>(i, x, u0, s0, gates, conduct, s, u, inner, channels, numel,
                                                   steps);
            for (index_t i = 0; i * V < numel; ++i)
                gated_lif_backward_thread<Surrogate, float, V>(i, gs, gu, x, u, u0, s0, gates, conduct, gx, gu0, gs0,
                                                               partial, surrogate, inner, channels, numel, steps);
        });
    });
    return known ? 0 : 1;
}
