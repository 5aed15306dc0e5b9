import Foundation
import StepwiseABI
import XCTest

@testable import Stepwise

/// AmpOptimWrapper end to end on a small model computing in bfloat16 / float16 through the
/// precision context, and the conversions under it.
final class WrapperAmpTests: XCTestCase {
    let registry = WrapperFixtures.registry

    // MARK: A linear model in low precision

    struct Rng {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float((state >> 40) & 0xFFFFFF) / Float(1 << 24)
        }
        mutating func normal() -> Float {
            let u = max(next(), 1e-7), v = next()
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
    }

    /// y = x · W + b over a batch, forward and backward in the context's precision the way
    /// autocast runs them: low-precision operands and outputs, float32 loss, gradients of
    /// the float32 master weights cast back from low precision.
    final class LinearModel {
        let w = Parameter(name: "fc.weight", shape: [4])
        let b = Parameter(name: "fc.bias", shape: [1], tag: STEPWISE_PARAM_BIAS)
        var params: [Parameter] { [w, b] }

        func loss(_ x: [[Float]], _ y: [Float], ctx: PrecisionContext) -> (Double, (Double) -> Void) {
            let wr = ctx.roundedWeights(of: w), br = ctx.roundedWeights(of: b)
            let xr = x.map { $0.map(ctx.cast) }
            let out = xr.map { row in ctx.cast(zip(row, wr).reduce(br[0]) { $0 + $1.0 * $1.1 }) }
            let n = Float(y.count)
            let loss = zip(out, y).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(n)
            let backward: (Double) -> Void = { [w, b] factor in
                let dout = zip(out, y).map { ctx.cast(2 * ($0 - $1) / n * Float(factor)) }
                var gw = [Float](repeating: 0, count: 4)
                for (row, d) in zip(xr, dout) { for k in 0..<4 { gw[k] += row[k] * d } }
                let gb = [ctx.cast(dout.reduce(0, +))]
                gw = gw.map(ctx.cast)
                gw.withUnsafeBufferPointer { w.accumulateGrad($0) }
                gb.withUnsafeBufferPointer { b.accumulateGrad($0) }
            }
            return (loss, backward)
        }
    }

    func batch(_ rng: inout Rng, scale: Float = 1) -> ([[Float]], [Float]) {
        let truth: [Float] = [1.5, -2, 0.5, 3]
        let x = (0..<16).map { _ in (0..<4).map { _ in rng.normal() * scale } }
        let y = x.map { row in zip(row, truth).reduce(0.7) { $0 + $1.0 * $1.1 } }
        return (x, y)
    }

    /// Trains 300 steps; returns (first loss, last loss, skipped iterations). Checks on
    /// every skipped step that the parameters did not move and the scale halved.
    func train(dtype: Precision, lossScale: String, overflowAt: Set<Int> = []) throws -> (Double, Double, [Int]) {
        let model = LinearModel()
        let config = try WrapperFixtures.config("{type: AmpOptimWrapper, dtype: \(dtype.rawValue), loss_scale: \(lossScale), optimizer: {type: SGD, lr: 0.05}}")
        let wrapper = try OptimWrapper(registry: registry, config: config, params: model.params)
        XCTAssertEqual(wrapper.precision.dtype, dtype)
        var rng = Rng(state: 42)
        var first = 0.0, last = 0.0
        var skipped: [Int] = []
        for it in 0..<300 {
            let (x, y) = batch(&rng, scale: overflowAt.contains(it) ? 1e30 : 1)
            let before = model.params.map(\.values)
            let scaleBefore = wrapper.lossScale
            let (loss, backward) = wrapper.optimContext { ctx -> (Double, (Double) -> Void) in
                XCTAssertTrue(ctx.isLowPrecision)
                return model.loss(x, y, ctx: ctx)
            }
            XCTAssertFalse(wrapper.precision.isActive, "the context is active only inside optimContext")
            let report = try wrapper.updateParams(loss: loss, backward: backward)
            let step = try XCTUnwrap(report.step)
            if !step.stepped {
                skipped.append(it)
                XCTAssertTrue(step.foundNonFinite)
                XCTAssertEqual(model.params.map(\.values), before, "iteration \(it): a skipped step leaves the parameters alone")
                XCTAssertEqual(wrapper.lossScale, scaleBefore / 2, "iteration \(it): the scale backs off")
            }
            if it == 0 { first = loss }
            if !overflowAt.contains(it) { last = loss }
        }
        return (first, last, skipped)
    }

    func testFloat16TrainsAndSkipsItsNaturalOverflows() throws {
        // A scale of 2^24 overflows float16 gradients (max 65504) until it has backed off.
        let (first, last, skipped) = try train(dtype: .float16, lossScale: "{init_scale: 16777216.0}")
        XCTAssertFalse(skipped.isEmpty, "float16 gradients scaled by 2^24 overflow")
        XCTAssertEqual(skipped, Array(0..<skipped.count), "overflows happen until the scale fits, then stop")
        XCTAssertLessThan(last, first / 100, "it trains: \(first) -> \(last)")
    }

    func testBFloat16TrainsAndSkipsAnInjectedOverflow() throws {
        let (first, last, skipped) = try train(dtype: .bfloat16, lossScale: "dynamic", overflowAt: [50, 51, 120])
        XCTAssertEqual(skipped, [50, 51, 120], "bfloat16 has float32's range: only the injected batches overflow")
        XCTAssertLessThan(last, first / 100, "it trains: \(first) -> \(last)")
    }

    func testDynamicScaleGrowsAfterGrowthIntervalCleanSteps() throws {
        let model = LinearModel()
        let wrapper = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{type: AmpOptimWrapper, dtype: bfloat16, loss_scale: {init_scale: 4.0, growth_factor: 3.0, growth_interval: 5}, optimizer: {type: SGD, lr: 0.01}}"),
            params: model.params)
        var rng = Rng(state: 7)
        var scales: [Double] = []
        for _ in 0..<12 {
            let (x, y) = batch(&rng)
            let (_, backward) = wrapper.optimContext { model.loss(x, y, ctx: $0) }
            try wrapper.updateParams(loss: 0, backward: backward)
            scales.append(wrapper.lossScale)
        }
        XCTAssertEqual(scales, [4, 4, 4, 4, 12, 12, 12, 12, 12, 36, 36, 36])
    }

    // MARK: Precision context

    func testContextCopiesFollowTheMasterWeights() throws {
        let model = LinearModel()
        _ = model.w.data.initialize(from: [1.00390625, 1.01171875, -3, 0.1])
        let wrapper = try OptimWrapper(registry: registry, config: try WrapperFixtures.config(
            "{type: AmpOptimWrapper, dtype: bfloat16, optimizer: {type: SGD, lr: 1.0}}"), params: model.params)
        let ctx = wrapper.precision
        // 1 + 2^-8 ties to 1; 1 + 3 * 2^-8 ties to the even 1 + 2^-6.
        XCTAssertEqual(Array(ctx.roundedWeights(of: model.w)), [1, 1.015625, -3, HalfPrecision.round(0.1, to: .bfloat16)])
        XCTAssertEqual(ctx.halfBits(of: model.w)?[2], 0xC040)
        try wrapper.updateParams(loss: 0, backward: WrapperFixtures.backward(model.params, ["fc.weight": [0, 0, 1, 0]]))
        XCTAssertEqual(ctx.roundedWeights(of: model.w)[2], -4, "refreshed after the step")

        let plain = try OptimWrapper(registry: registry, config: try WrapperFixtures.config("{optimizer: {type: SGD}}"), params: model.params)
        XCTAssertNil(plain.precision.halfBits(of: model.w))
        XCTAssertEqual(Array(plain.precision.roundedWeights(of: model.w)), model.w.values)
        plain.optimContext { XCTAssertFalse($0.isLowPrecision) }
    }

    func testFloat16ConversionsMatchSwiftsFloat16Everywhere() {
        // Decoding: every one of the 65536 bit patterns.
        for bits in 0...UInt16.max {
            let want = Float(Float16(bitPattern: bits))
            let got = HalfPrecision.float(float16Bits: bits)
            if want.isNaN { XCTAssertTrue(got.isNaN) } else { XCTAssertEqual(got.bitPattern, want.bitPattern, "\(bits)") }
        }
        // Encoding: edges (ties, subnormals, overflow) plus a sweep over float32 exponents.
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.996, 65520, 1e6, .infinity, -.infinity,
                               Float(bitPattern: 0x3380_0000), Float(bitPattern: 0x3300_0000), Float(bitPattern: 0x3300_0001),
                               Float(bitPattern: 0x3880_0000), Float(bitPattern: 0x387F_E000), 1 + 1.0 / 2048, 1 + 3.0 / 2048,
                               .leastNonzeroMagnitude, .greatestFiniteMagnitude]
        var rng = Rng(state: 1)
        for _ in 0..<200_000 {
            let bits = UInt32(Double(rng.next()) * 0x7FFF_FFFF) | (rng.next() < 0.5 ? 0x8000_0000 : 0)
            let x = Float(bitPattern: bits)
            if abs(x) < 1e6 && abs(x) > 1e-9 { values.append(x) }
        }
        for x in values {
            XCTAssertEqual(HalfPrecision.float16Bits(x), Float16(x).bitPattern, "\(x) (0x\(String(x.bitPattern, radix: 16)))")
        }
        XCTAssertTrue(HalfPrecision.float(float16Bits: HalfPrecision.float16Bits(.nan)).isNaN)
    }

    func testBFloat16RoundsToNearestEven() {
        var rng = Rng(state: 3)
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32(Double(rng.next()) * 0x7F7F_FFFF))
            let r = HalfPrecision.round(x, to: .bfloat16)
            XCTAssertEqual(r.bitPattern & 0xFFFF, 0, "\(x) rounds to a bfloat16")
            // The two bfloat16 neighbours of x, and the nearer (ties: even mantissa).
            let down = Float(bitPattern: x.bitPattern & 0xFFFF_0000), up = Float(bitPattern: (x.bitPattern & 0xFFFF_0000) &+ 0x1_0000)
            // Past the largest bfloat16 the upper neighbour is infinity, which IEEE rounding
            // treats as the next binade's first value (2^128).
            let upValue = up.isInfinite ? 0x1p128 : Double(up)
            let dDown = Double(x) - Double(down), dUp = upValue - Double(x)
            let want = dDown < dUp ? down : dUp < dDown ? up : ((down.bitPattern >> 16) & 1 == 0 ? down : up)
            XCTAssertEqual(r.bitPattern, want.bitPattern, "\(x)")
        }
        XCTAssertEqual(HalfPrecision.round(.greatestFiniteMagnitude, to: .bfloat16), .infinity)
        XCTAssertEqual(HalfPrecision.round(Precision.bfloat16.greatestFiniteMagnitude, to: .bfloat16), Precision.bfloat16.greatestFiniteMagnitude)
        XCTAssertTrue(HalfPrecision.round(.nan, to: .bfloat16).isNaN)
        XCTAssertEqual(HalfPrecision.round(-.infinity, to: .bfloat16), -.infinity)
    }
}
