import Foundation
import XCTest
import Stepwise

/// Files written here load with the reference Python library, and the other way round.
/// Needs `python3 -m pip install safetensors numpy`; skipped when the modules are missing.
final class CheckpointPythonInteropTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        let (status, output) = try Self.python("import safetensors, numpy; print(safetensors.__version__)")
        guard status == 0 else {
            let reason = output.split(separator: "\n").last.map(String.init) ?? "python3 not found"
            throw XCTSkip("python3 with safetensors and numpy is not available (pip install safetensors numpy): \(reason)")
        }
        folder = try makeScratchFolder("\(type(of: self))")
    }

    override func tearDownWithError() throws {
        if !folder.isEmpty { try? FileManager.default.removeItem(atPath: folder) }
    }

    /// Runs a Python script; returns its exit status and combined output.
    static func python(_ script: String, arguments: [String] = []) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (127, "\(error)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func testPythonLoadsWhatStepwiseSaves() throws {
        let path = folder + "/swift.safetensors"
        try Safetensors.save(CheckpointSafetensorsTests.sampleTensors(),
                             metadata: ["config": #"{"lr": 0.1}"#, "note": "é\n"], to: path)
        // numpy has no bfloat16, so the numpy loader refuses BF16 tensors: for those the
        // script reports the dtype the header declares.
        let script = """
        import json, sys
        import numpy as np
        from safetensors import safe_open
        out = {"tensors": {}}
        with safe_open(sys.argv[1], framework="np") as f:
            out["meta"] = f.metadata()
            for k in f.keys():
                try:
                    v = f.get_tensor(k)
                except Exception:
                    out["tensors"][k] = {"dtype": f.get_slice(k).get_dtype(), "shape": f.get_slice(k).get_shape()}
                    continue
                vals = v.ravel().tolist() if v.dtype == np.int64 else v.astype(np.float64).ravel().tolist()
                out["tensors"][k] = {"dtype": str(v.dtype), "shape": list(v.shape), "values": [repr(x) for x in vals]}
        print(json.dumps(out, sort_keys=True))
        """
        let (status, output) = try Self.python(script, arguments: [path])
        XCTAssertEqual(status, 0, output)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], output)
        XCTAssertEqual(json["meta"] as? [String: String], ["config": #"{"lr": 0.1}"#, "note": "é\n"])
        let tensors = try XCTUnwrap(json["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(Set(tensors.keys), Set(CheckpointSafetensorsTests.sampleTensors().keys))
        func check(_ name: String, _ dtype: String, _ shape: [Int], _ values: [String]) {
            XCTAssertEqual(tensors[name]?["dtype"] as? String, dtype, name)
            XCTAssertEqual(tensors[name]?["shape"] as? [Int], shape, name)
            XCTAssertEqual(tensors[name]?["values"] as? [String], values, name)
        }
        check("model.fc1.weight", "float32", [2, 3], ["1.0", "-2.0", "3.5", "inf", "0.0", "-0.25"])
        check("optimizer.state.0.exp_avg", "float64", [3], ["1e-300", "-2.0", "3.141592653589793"])
        check("optimizer.state.0.step", "int64", [], ["9223372036854775807"])
        check("counts", "int32", [2], ["-7.0", "7.0"])
        check("half", "float16", [3], ["1.0", "-2.0", "inf"])
        check("mask", "bool", [3], ["1.0", "0.0", "1.0"])
        check("empty", "float32", [4, 0], [])
        check("ünïcode \"name\"\n", "uint8", [1], ["255.0"])
        XCTAssertEqual(tensors["brain"]?["dtype"] as? String, "BF16")
        XCTAssertEqual(tensors["brain"]?["shape"] as? [Int], [1, 2])
    }

    func testStepwiseLoadsWhatPythonSaves() throws {
        let path = folder + "/python.safetensors"
        let script = """
        import sys
        import numpy as np
        from safetensors.numpy import save_file
        save_file({
            "w": np.arange(6, dtype=np.float32).reshape(2, 3) / 4,
            "d": np.array([1e-300, -0.5]),
            "n": np.array(7, dtype=np.int64),
            "h": np.array([0.5, -1], dtype=np.float16),
            "u": np.array([65535, 1], dtype=np.uint16),
            "z": np.zeros((0, 3), dtype=np.float32),
        }, sys.argv[1], metadata={"epoch": "4", "state": '{"last_step": 10}'})
        """
        let (status, output) = try Self.python(script, arguments: [path])
        XCTAssertEqual(status, 0, output)
        let archive = try Safetensors.load(path)
        XCTAssertEqual(archive.metadata, ["epoch": "4", "state": #"{"last_step": 10}"#])
        XCTAssertEqual(archive.tensors["w"], SafetensorsTensor(shape: [2, 3], float32: [0, 0.25, 0.5, 0.75, 1, 1.25]))
        XCTAssertEqual(archive.tensors["d"], SafetensorsTensor(shape: [2], float64: [1e-300, -0.5]))
        XCTAssertEqual(archive.tensors["n"], SafetensorsTensor(shape: [], int64: [7]))
        XCTAssertEqual(archive.tensors["h"]?.dtype, .f16)
        XCTAssertEqual(archive.tensors["h"]?.asFloat32(), [0.5, -1])
        XCTAssertEqual(archive.tensors["u"]?.asInt64(), [65535, 1])
        XCTAssertEqual(archive.tensors["z"]?.shape, [0, 3])
    }
}
