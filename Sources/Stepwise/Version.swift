public enum StepwiseInfo { public static let version = "0.1.0" }
