import StepwiseABI
import XCTest

@testable import Stepwise

/// JSON-typed hyperparameters reach plugins as JSON text, whatever the config wrote.
final class ResolvedValuesTests: XCTestCase {
    static let registry = PluginRegistry.load(.init(includeEnvironment: false))

    func jsonText(_ value: ConfigValue) throws -> String {
        let amp = try Self.registry.component(.wrapper, type: "AmpOptimWrapper")
        let resolved = try amp.resolve(ConfigDict(["type": .string("AmpOptimWrapper"), "loss_scale": value]),
                                       ignoring: ["type", "optimizer"])
        let i = try XCTUnwrap(resolved.index(of: "loss_scale"))
        let raw = resolved.raw.pointee.items[i]!.pointee
        XCTAssertEqual(raw.type, STEPWISE_TYPE_JSON)
        return String(cString: raw.s)
    }

    func testStringsNumbersAndDictsArriveAsJSONText() throws {
        XCTAssertEqual(try jsonText(.string("dynamic")), "\"dynamic\"")
        XCTAssertEqual(try jsonText(.float(512)), "512.0")
        XCTAssertEqual(try jsonText(.int(512)), "512")
        XCTAssertEqual(try jsonText(.dict(ConfigDict(["init_scale": .float(128)]))), "{\"init_scale\":128.0}")
    }

    func testAJSONDefaultIsReadAsAValueNotAsText() throws {
        let amp = try Self.registry.component(.wrapper, type: "AmpOptimWrapper")
        XCTAssertEqual(amp.hyperparam(named: "loss_scale")?.defaultValue, .string("dynamic"))
        let adafactor = try Self.registry.component(.optimizer, type: "Adafactor")
        XCTAssertEqual(adafactor.hyperparam(named: "eps")?.defaultValue, .list([.null, .float(0.001)]))
    }
}
