/// The chart `stepwise schedule --plot` draws. Waits for the SVG LineChart (Sources/Stepwise/Plot).
public enum SchedulePlot {
    public struct Pending: Error, CustomStringConvertible {
        public var description: String { "--plot needs the SVG line chart, which this build does not have yet" }
    }
    public static func write(_ trace: ScheduleTrace, title: String, to path: String) throws { throw Pending() }
}
