/// Parameter initialisers with torch.nn.init's formulas. They draw from a
/// `Xoshiro256StarStar`, not torch's Mersenne Twister, so the distributions match torch
/// and the values do not.
public enum Initializers {
    /// torch's `calculate_gain('leaky_relu', a)`: sqrt(2 / (1 + a^2)).
    public static func leakyReLUGain(_ a: Double) -> Double { (2 / (1 + a * a)).squareRoot() }

    /// The bound of torch's `kaiming_uniform_(a:, mode='fan_in')`, computed in Float64 in
    /// the same order torch does (std = gain / sqrt(fan); bound = sqrt(3) * std).
    public static func kaimingUniformBound(a: Double, fanIn: Int) -> Double {
        guard fanIn > 0 else { return 0 }
        let std = leakyReLUGain(a) / Double(fanIn).squareRoot()
        return Double(3).squareRoot() * std
    }

    /// Fills `tensor` from U(-bound, bound) with torch's kaiming-uniform bound.
    public static func kaimingUniform(_ tensor: Tensor, a: Double, fanIn: Int,
                                      using rng: inout Xoshiro256StarStar) {
        let bound = Float(kaimingUniformBound(a: a, fanIn: fanIn))
        rng.fillUniform(tensor.data, count: tensor.count, low: -bound, high: bound)
    }

    /// torch's `nn.Linear.reset_parameters`: the weight from kaiming_uniform with
    /// a = sqrt(5), which reduces to U(-1/sqrt(in), 1/sqrt(in)); then the bias from
    /// U(-1/sqrt(in), 1/sqrt(in)) (zero bound when in == 0). Weight first, as torch does,
    /// so the stream is consumed in the same order.
    public static func torchLinearDefault(weight: Tensor, bias: Tensor?, fanIn: Int,
                                          using rng: inout Xoshiro256StarStar) {
        kaimingUniform(weight, a: Double(5).squareRoot(), fanIn: fanIn, using: &rng)
        if let bias {
            let bound = fanIn > 0 ? Float(1 / Double(fanIn).squareRoot()) : 0
            rng.fillUniform(bias.data, count: bias.count, low: -bound, high: bound)
        }
    }

    /// torch's `xavier_uniform_`: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).
    public static func xavierUniform(_ tensor: Tensor, fanIn: Int, fanOut: Int, gain: Double = 1,
                                     using rng: inout Xoshiro256StarStar) {
        let std = gain * (2 / Double(max(fanIn + fanOut, 1))).squareRoot()
        let bound = Float(Double(3).squareRoot() * std)
        rng.fillUniform(tensor.data, count: tensor.count, low: -bound, high: bound)
    }

    /// torch's `normal_(mean, std)`.
    public static func normal(_ tensor: Tensor, mean: Float = 0, std: Float,
                              using rng: inout Xoshiro256StarStar) {
        rng.fillNormal(tensor.data, count: tensor.count, mean: mean, std: std)
    }
}
