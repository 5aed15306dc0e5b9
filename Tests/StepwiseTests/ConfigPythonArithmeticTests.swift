import XCTest
@testable import Stepwise

/// What real MMEngine / MMCV `.py` configs compute on literals: arithmetic with Python's
/// results (expected values printed by CPython 3), names assigned earlier in the file,
/// `**name` in dicts; and the refusals that remain, with line and column.
final class ConfigPythonArithmeticTests: XCTestCase {
    private func parse(_ text: String) throws -> ConfigDict {
        try ConfigLoader.parse(string: text, format: .python, origin: "config.py")
    }

    func testArithmeticMatchesCPython() throws {
        let table: [(String, ConfigValue)] = [
            ("0.1 * 8 / 256", .float(0.003125)), ("(0.85 / 0.95, 1)", .list([.float(0.8947368421052632), .int(1)])),
            ("1 + 2 * 3", .int(7)), ("(1 + 2) * 3", .int(9)), ("2 ** 3 ** 2", .int(512)), ("-2 ** 2", .int(-4)),
            ("2 ** -1", .float(0.5)), ("(-2) ** 2", .int(4)), ("7 // 2", .int(3)), ("-7 // 2", .int(-4)),
            ("7 % -3", .int(-2)), ("-7 % 3", .int(2)), ("7.5 // 2", .float(3)), ("-7.5 // 2", .float(-4)),
            ("-7.5 % 2", .float(0.5)), ("7 % -2.5", .float(-0.5)), ("1 / 3", .float(0.3333333333333333)),
            ("10 / 2", .float(5)), ("2 ** 62", .int(4611686018427387904)), ("3 * 1e-3", .float(0.003)),
            ("1e308 * 10", .float(.infinity)), ("0.1 + 0.2", .float(0.30000000000000004)), ("- - 5", .int(5)),
            ("+-5", .int(-5)), ("-(1 + 2)", .int(-3)), ("2 * -3", .int(-6)), ("1 - -1", .int(2)), ("7 % 3 * 2", .int(2)),
            ("2.0 ** 0.5", .float(1.4142135623730951)), ("4 ** 0.5", .float(2)), ("(-8) ** 2", .int(64)),
            ("-9223372036854775807 - 1", .int(.min)), ("1e-3 * 16 / 256 * 4", .float(0.00025)),
            ("4.8 / 256 * 4096", .float(76.8)), ("5 // -0.5", .float(-10)), ("1.1 ** 3", .float(1.3310000000000004)),
            ("2 ** 0.1", .float(1.0717734625362931)),
            ("'data/' + 'coco/'", .string("data/coco/")), ("'ab' * 3", .string("ababab")), ("2 * 'ab'", .string("abab")),
            ("'x' * 0", .string("")), ("'x' * -1", .string("")), ("[1] + [2]", .list([.int(1), .int(2)])),
            ("[0] * 3", .list([.int(0), .int(0), .int(0)])), ("(1, 2) + (3,)", .list([.int(1), .int(2), .int(3)])),
            ("[dict(a=1)] * 2", .list([.dict(ConfigDict(["a": .int(1)])), .dict(ConfigDict(["a": .int(1)]))])),
            ("{'a' + 'b': 1}", .dict(ConfigDict(["ab": .int(1)]))),
        ]
        for (source, expected) in table {
            XCTAssertEqual(try parse("x = \(source)\n")["x"], expected, source)
        }
        XCTAssertEqual(try parse("x = 0.0 // -3\n")["x"]?.double?.sign, .minus, "CPython keeps the sign of a zero quotient")
        XCTAssertEqual(try parse("x = -0.0 * 1\n")["x"]?.double?.sign, .minus)
    }

    func testNamesAssignedEarlier() throws {
        let config = try parse("""
            max_epochs = 100
            base_lr = 0.1
            cumulative_iters = 4
            data_root = 'data/coco/'
            img_norm_cfg = dict(mean=[123.675, 116.28], to_rgb=True)
            scale = (1333, 800)
            train_cfg = dict(by_epoch=True, max_epochs=max_epochs)
            optimizer = dict(type='SGD', lr=base_lr * 8 / 256)
            lr_config = dict(warmup_iters=250 * cumulative_iters * 4)
            ann_file = data_root + 'annotations/train.json'
            normalize = dict(type='Normalize', **img_norm_cfg)
            bgr = {**img_norm_cfg, 'to_rgb': False}
            scales = [scale, scale + (1,)]
            max_epochs = max_epochs + 1
            """)
        XCTAssertEqual(config["train_cfg"]?.dict?["max_epochs"], .int(100), "the value when the name was used")
        XCTAssertEqual(config["max_epochs"], .int(101), "reassignment, as Python")
        XCTAssertEqual(config["optimizer"]?.dict?["lr"], .float(0.003125))
        XCTAssertEqual(config["lr_config"]?.dict?["warmup_iters"], .int(4000))
        XCTAssertEqual(config["ann_file"], .string("data/coco/annotations/train.json"))
        let normalize = try XCTUnwrap(config["normalize"]?.dict)
        XCTAssertEqual(normalize.keys, ["type", "mean", "to_rgb"])
        XCTAssertEqual(normalize.origin(of: "mean")?.line, 5, "unpacked entries keep where they were written")
        XCTAssertEqual(config["bgr"]?.dict?.keys, ["mean", "to_rgb"])
        XCTAssertEqual(config["bgr"]?.dict?["to_rgb"], .bool(false))
        XCTAssertEqual(config["scales"], .list([.list([.int(1333), .int(800)]), .list([.int(1333), .int(800), .int(1)])]))
        XCTAssertEqual(config.origin(of: "train_cfg")?.line, 7)
    }

    func testReferencedNamesCarryBaseReferences() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pyarith-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "lr = 0.5\n".write(toFile: dir + "/base.py", atomically: true, encoding: .utf8)
        try "_base_ = './base.py'\nbase = {{_base_.lr}}\noptimizer = dict(lr=base)\n"
            .write(toFile: dir + "/child.py", atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: dir + "/child.py")
        XCTAssertEqual(config["optimizer"]?.dict?["lr"], .float(0.5))
    }

    /// (source, line, column, kind, message): what is still refused, and why.
    static let errors: [(String, Int, Int, ConfigError.Kind, String)] = [
        ("x = 1 / 0", 1, 7, .type, "division by zero"),
        ("x = 1 // 0", 1, 7, .type, "integer division by zero"),
        ("x = 1 % 0", 1, 7, .type, "integer modulo by zero"),
        ("x = 1.0 / 0", 1, 9, .type, "float division by zero"),
        ("x = 1.5 // 0.0", 1, 9, .type, "float floor division by zero"),
        ("x = 0 ** -1", 1, 7, .type, "0.0 cannot be raised to a negative power"),
        ("x = 10.0 ** 400", 1, 10, .type, "float '**' result out of range"),
        ("x = (-8) ** 0.5", 1, 10, .unsupported, "unsupported Python: a negative number to a fractional power is a complex number"),
        ("x = 9223372036854775807 + 1", 1, 25, .unsupported, "unsupported Python: integer result does not fit in 64 bits"),
        ("x = 2 ** 64", 1, 7, .unsupported, "unsupported Python: integer result does not fit in 64 bits"),
        ("x = 3 ** 9223372036854775807", 1, 7, .unsupported, "unsupported Python: integer result does not fit in 64 bits"),
        ("x = 9007199254740993 / 1", 1, 22, .unsupported, "unsupported Python: true division of integers beyond 2**53"),
        ("x = [0] * 10 ** 7", 1, 9, .unsupported, "unsupported Python: repetition longer than 1000000 elements"),
        ("x = 'a' + 1", 1, 9, .type, "unsupported operand types for '+': a string and an int"),
        ("x = None * 2", 1, 10, .type, "unsupported operand types for '*': None and an int"),
        ("x = [1] - [1]", 1, 9, .type, "unsupported operand types for '-': a list and a list"),
        ("x = [1] + (2,)", 1, 9, .type, "can only concatenate list (not \"tuple\") to list"),
        ("x = True + 1", 1, 10, .unsupported, "unsupported Python: '+' on a bool (True and False are not numbers in a config)"),
        ("x = 1 << 2", 1, 7, .unsupported, "unsupported Python: arithmetic operator '<<'"),
        ("x = 1 @ 2", 1, 7, .unsupported, "unsupported Python: arithmetic operator '@'"),
        ("x = ~1", 1, 5, .unsupported, "unsupported Python: arithmetic operator '~'"),
        ("x = lr * 2", 1, 5, .reference,
         "name 'lr' is not defined: a config may use only names assigned earlier in the same file (a base config's values are written {{_base_.lr}})"),
        ("x = y\ny = 1", 1, 5, .reference,
         "name 'y' is not defined: a config may use only names assigned earlier in the same file (a base config's values are written {{_base_.y}})"),
        ("[a] = [1]", 1, 2, .reference,
         "name 'a' is not defined: a config may use only names assigned earlier in the same file (a base config's values are written {{_base_.a}})"),
        ("x = {{_base_.lr}} * 2", 1, 19, .reference,
         "a {{_base_.*}} reference cannot take part in '*': MMEngine substitutes it as a string before evaluating, so the result would not be the base value; compute the value in the base config instead"),
        ("d = dict(a=1)\nx = dict(a=2, **d)", 2, 15, .syntax, "keyword argument repeated: 'a' (also in the '**' dict)"),
        ("n = 1\nx = dict(**n)", 2, 10, .type, "'**' in dict() needs a dict, not an int"),
        ("n = [1]\nx = {**n}", 2, 6, .type, "'**' in a dict display needs a dict, not a list"),
        ("x = (y := 1)", 1, 8, .unsupported, "unsupported Python: assignment expression ':='"),
        ("x = 1\nx += 1", 2, 3, .unsupported, "unsupported Python: augmented assignment '+='"),
        ("x = [1]\ny = x[0]", 2, 5, .unsupported, "unsupported Python: subscript 'x[...]'"),
        ("x = dict(a=1)\ny = x.a", 2, 5, .unsupported, "unsupported Python: attribute access 'x.a'"),
        ("x = 'a'\ny = x.upper()", 2, 5, .unsupported, "unsupported Python: attribute access 'x.upper'"),
        ("x = 1\ny = x if x else 2", 2, 7, .unsupported, "unsupported Python: conditional expression"),
    ]

    func testRefusalsPointAtLineAndColumn() {
        for (source, line, column, kind, message) in Self.errors {
            XCTAssertThrowsError(try parse(source), source) { error in
                guard let e = error as? ConfigError else { return XCTFail("\(source): \(error)") }
                XCTAssertEqual(e.message, message, source)
                XCTAssertEqual(e.kind, kind, source)
                XCTAssertEqual(e.line, line, "line of: \(source)")
                XCTAssertEqual(e.column, column, "column of: \(source)")
            }
        }
    }

    /// Real configs, unchanged: an MMDetection 2.x schedule with a variable and
    /// arithmetic, and an MMEngine-era one with names throughout.
    func testRealWorldShapes() throws {
        let mmdet = try parse("""
            # optimizer
            paramwise_cfg=dict(
                custom_keys={
                        'norm': dict(decay_mult=0.),
                        'pos_embed': dict(decay_mult=0.),
                }
            )
            optimizer = dict(type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.1, paramwise_cfg=paramwise_cfg)

            cumulative_iters = 4
            optimizer_config = dict(grad_clip=None, cumulative_iters=cumulative_iters)
            # learning policy
            lr_config = dict(
                policy='step',
                warmup='linear',
                warmup_iters=250 * cumulative_iters * 4,
                warmup_ratio=0.001,
                step=[16, 22])
            runner = dict(type='EpochBasedRunner', max_epochs=24)
            fp16 = dict(loss_scale=dict(init_scale=512))
            """)
        XCTAssertEqual(mmdet["optimizer"]?.dict?["paramwise_cfg"], mmdet["paramwise_cfg"])
        XCTAssertEqual(mmdet["lr_config"]?.dict?["warmup_iters"], .int(4000))
        XCTAssertEqual(mmdet["optimizer_config"]?.dict?["cumulative_iters"], .int(4))

        let dataset = try parse("""
            dataset_type = 'CocoDataset'
            data_root = 'data/coco/'
            img_norm_cfg = dict(
                mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
            train_pipeline = [
                dict(type='LoadImageFromFile'),
                dict(type='Resize', img_scale=(1333, 800), keep_ratio=True),
                dict(type='Normalize', **img_norm_cfg),
                dict(type='Collect', keys=['img', 'gt_bboxes', 'gt_labels']),
            ]
            data = dict(
                samples_per_gpu=2,
                train=dict(
                    type=dataset_type,
                    ann_file=data_root + 'annotations/instances_train2017.json',
                    img_prefix=data_root + 'train2017/',
                    pipeline=train_pipeline))
            """)
        let train = try XCTUnwrap(dataset["data"]?.dict?["train"]?.dict)
        XCTAssertEqual(train["type"], .string("CocoDataset"))
        XCTAssertEqual(train["ann_file"], .string("data/coco/annotations/instances_train2017.json"))
        XCTAssertEqual(train["pipeline"]?.list?[2].dict?.keys, ["type", "mean", "std", "to_rgb"])
        XCTAssertEqual(train["pipeline"], dataset["train_pipeline"])
    }
}
