// Quadratic (QIF) and exponential (EIF) integrate-and-fire neurons for the fused
// single-state kernels (single_state.cuh); equations in jelly.neurons.functional.nonlinear_if,
// in the operation order PyTorch evaluates them on a GPU (division by a Python number is a
// multiplication by its float32 reciprocal):
//
//   QIF: h = v + (x + a0 (v - v_rest)(v - v_c)) / tau
//        dh/dv = 1 + a0 (2 v - v_rest - v_c) / tau,   dh/dx = 1 / tau
//   EIF: h = v + (x + v_rest - v + delta_T exp((v - theta_rh) / delta_T)) / tau
//        dh/dv = 1 + (exp((v - theta_rh) / delta_T) - 1) / tau,   dh/dx = 1 / tau
#include "single_state.cuh"
#include "surrogates.cuh"

namespace jelly {
namespace neurons {

// p0 = 1/tau, p1 = a0, p2 = v_rest, p3 = v_c.
struct QIF {
    float inv_tau, a0, v_rest, v_c;
    static constexpr bool kParamGrad = false;
    JELLY_HD static QIF make(float p0, float p1, float p2, float p3, const float*) { return QIF{p0, p1, p2, p3}; }
    JELLY_HD float charge(float x, float v) const { return v + (x + a0 * (v - v_rest) * (v - v_c)) * inv_tau; }
    JELLY_HD float dh_dv(float v) const { return 1.0f + a0 * (2.0f * v - v_rest - v_c) * inv_tau; }
    JELLY_HD float dh_dx(float) const { return inv_tau; }
    JELLY_HD float dh_dparam(float, float) const { return 0.0f; }
};

// p0 = 1/tau, p1 = delta_T, p2 = theta_rh, p3 = v_rest; 1/delta_T is formed here.
struct EIF {
    float inv_tau, delta_t, theta_rh, v_rest, inv_delta_t;
    static constexpr bool kParamGrad = false;
    JELLY_HD static EIF make(float p0, float p1, float p2, float p3, const float*) {
        return EIF{p0, p1, p2, p3, 1.0f / p1};
    }
    JELLY_HD float charge(float x, float v) const {
        return v + (x + v_rest - v + delta_t * expf((v - theta_rh) * inv_delta_t)) * inv_tau;
    }
    JELLY_HD float dh_dv(float v) const { return 1.0f + (expf((v - theta_rh) * inv_delta_t) - 1.0f) * inv_tau; }
    JELLY_HD float dh_dx(float) const { return inv_tau; }
    JELLY_HD float dh_dparam(float, float) const { return 0.0f; }
};

}  // namespace neurons
}  // namespace jelly
