/// The chart `stepwise schedule --plot` draws, as MMEngine's vis_scheduler shows it: the
/// lr on top, the momentum below (and any other scheduled hyperparameter under it), one
/// curve per param group, against the iteration, with a line at every epoch.
public enum SchedulePlot {
    static let panelTitles = ["lr": "learning rate", "momentum": "momentum"]

    public static func chart(_ trace: ScheduleTrace, title: String) -> LineChart {
        let x = (0..<trace.iterationCount).map { Double(trace.firstIteration + $0) }
        let panels = trace.keys.map { key in
            ChartPanel(yLabel: panelTitles[key] ?? key,
                       series: (0..<trace.groups).map { g in
                           ChartSeries(name: trace.groups == 1 ? key : "\(key), group \(g)", x: x,
                                       y: trace.values[key]?[g] ?? [])
                       },
                       relativeHeight: key == "lr" ? 1.4 : 1)
        }
        let I = trace.loop.itersPerEpoch, every = markStep(epochs: trace.loop.epochs)
        let marks = stride(from: every, to: max(trace.loop.epochs, 1), by: every)
            .map { e in ChartMark(x: Double(e * I), label: "epoch \(e)") }
            .filter { $0.x >= x.first ?? 0 && $0.x <= x.last ?? 0 }
        return LineChart(title: title, xLabel: "iteration (\(trace.loop.epochs) epochs of \(I))", panels: panels,
                         marks: marks)
    }

    /// A line every 1, 2, 5, 10, 20, ... epochs: at most about 20 of them.
    static func markStep(epochs: Int) -> Int {
        var decade = 1
        while true {
            for step in [decade, 2 * decade, 5 * decade] where epochs / step <= 20 { return step }
            decade *= 10
        }
    }

    public static func write(_ trace: ScheduleTrace, title: String, to path: String) throws {
        try chart(trace, title: title).write(to: path)
    }
}
