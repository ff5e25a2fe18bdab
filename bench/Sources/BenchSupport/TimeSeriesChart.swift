import Foundation

/// Panels of lines over a shared time axis, stacked, as one self-contained SVG file (no
/// script, no external reference): what the memory benchmarks draw (resident memory, keys
/// held, events processed against seconds).
public struct TimeSeriesChart {
    /// One line.
    public struct Series {
        public var name: String
        public var colour: String
        public var points: [(x: Double, y: Double)]
        public var dashed: Bool

        public init(name: String, colour: String, points: [(x: Double, y: Double)], dashed: Bool = false) {
            self.name = name
            self.colour = colour
            self.points = points
            self.dashed = dashed
        }
    }

    /// One panel: its lines share its y axis.
    public struct Panel {
        public var title: String
        public var yLabel: String
        public var series: [Series]
        /// Vertical markers (an x and a label), e.g. when a broker stopped.
        public var markers: [(x: Double, label: String)]

        public init(title: String, yLabel: String, series: [Series], markers: [(x: Double, label: String)] = []) {
            self.title = title
            self.yLabel = yLabel
            self.series = series
            self.markers = markers
        }
    }

    /// Distinguishable in print and for the common colour-vision deficiencies.
    public static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    public var width = 760.0
    public var panelHeight = 230.0

    public init(title: String, xLabel: String, panels: [Panel]) {
        self.title = title
        self.xLabel = xLabel
        self.panels = panels
    }

    private let left = 78.0, right = 190.0, top = 44.0, gap = 58.0

    /// The chart as an SVG document.
    public func svg() -> String {
        let height = top + Double(panels.count) * (panelHeight + gap) + 10
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(fmt(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
        let allX = panels.flatMap { $0.series.flatMap { $0.points.map(\.x) } + $0.markers.map(\.x) }
        let xMax = Self.niceCeiling(allX.max() ?? 1)
        for (index, panel) in panels.enumerated() {
            out += draw(panel, originY: top + Double(index) * (panelHeight + gap), xMax: xMax)
        }
        return out + "</svg>\n"
    }

    private func draw(_ panel: Panel, originY: Double, xMax: Double) -> String {
        let plotWidth = width - left - right
        let yMax = Self.niceCeiling(panel.series.flatMap { $0.points.map(\.y) }.max() ?? 1)
        func x(_ value: Double) -> Double { left + value / xMax * plotWidth }
        func y(_ value: Double) -> Double { originY + panelHeight - value / yMax * panelHeight }
        var out = "<text x=\"\(fmt(left))\" y=\"\(fmt(originY - 8))\" font-weight=\"bold\">\(escape(panel.title))</text>\n"
        out += "<rect x=\"\(fmt(left))\" y=\"\(fmt(originY))\" width=\"\(fmt(plotWidth))\" height=\"\(fmt(panelHeight))\" fill=\"none\" stroke=\"#444\"/>\n"
        for tick in 0...5 {
            let value = yMax * Double(tick) / 5
            out += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(y(value)))\" x2=\"\(fmt(left + plotWidth))\" y2=\"\(fmt(y(value)))\" stroke=\"#ddd\"/>\n"
            out += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(y(value) + 4))\" text-anchor=\"end\">\(Self.label(value, step: yMax / 5))</text>\n"
            let time = xMax * Double(tick) / 5
            out += "<text x=\"\(fmt(x(time)))\" y=\"\(fmt(originY + panelHeight + 16))\" text-anchor=\"middle\">\(Self.label(time, step: xMax / 5))</text>\n"
        }
        out += "<text x=\"\(fmt(left + plotWidth / 2))\" y=\"\(fmt(originY + panelHeight + 32))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16 \(fmt(originY + panelHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(panel.yLabel))</text>\n"
        for marker in panel.markers {
            out += "<line x1=\"\(fmt(x(marker.x)))\" y1=\"\(fmt(originY))\" x2=\"\(fmt(x(marker.x)))\" y2=\"\(fmt(originY + panelHeight))\" stroke=\"#888\" stroke-dasharray=\"3 3\"/>\n"
            out += "<text x=\"\(fmt(x(marker.x) + 3))\" y=\"\(fmt(originY + 12))\" fill=\"#555\" font-size=\"10\">\(escape(marker.label))</text>\n"
        }
        for (index, series) in panel.series.enumerated() {
            let points = series.points.map { "\(fmt(x($0.x))),\(fmt(y($0.y)))" }.joined(separator: " ")
            out += "<polyline fill=\"none\" stroke=\"\(series.colour)\" stroke-width=\"2\"\(series.dashed ? " stroke-dasharray=\"6 4\"" : "") points=\"\(points)\"/>\n"
            let legendY = originY + 14 + Double(index) * 18
            let legendX = left + plotWidth + 12
            out += "<line x1=\"\(fmt(legendX))\" y1=\"\(fmt(legendY - 4))\" x2=\"\(fmt(legendX + 22))\" y2=\"\(fmt(legendY - 4))\" stroke=\"\(series.colour)\" stroke-width=\"2\"\(series.dashed ? " stroke-dasharray=\"6 4\"" : "")/>\n"
            out += "<text x=\"\(fmt(legendX + 28))\" y=\"\(fmt(legendY))\" font-size=\"11\">\(escape(series.name))</text>\n"
        }
        return out
    }

    /// 1, 2 or 5 times a power of ten, at least `value`.
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let power = pow(10, floor(log10(value)))
        for step in [1.0, 2, 2.5, 5, 10] where step * power >= value { return step * power }
        return 10 * power
    }

    /// A tick's value with as many decimals as the ticks' spacing needs.
    static func label(_ value: Double, step: Double) -> String {
        let decimals = (0...4).first { digits in
            let scaled = step * pow(10, Double(digits))
            return abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled)
        } ?? 4
        return String(format: "%.\(decimals)f", value)
    }

    private func fmt(_ value: Double) -> String { String(format: "%.1f", value) }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
