/// Small self-contained SVG charts for the reports: line charts (curves, values by day) and
/// grouped bar charts, with axes, ticks and a legend, in print-safe colours. No script, no
/// external reference: each chart is one `<svg>` element that reads the same inline in HTML
/// and as a file of its own.
struct SVGChart {
    /// A named series of points.
    struct Series {
        var name: String
        var points: [(x: Double, y: Double)]
        var colour: String
        var dashed = false
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var width = 480.0
    var height = 340.0
    /// Axis ranges; nil takes the data's.
    var xRange: ClosedRange<Double>?
    var yRange: ClosedRange<Double>?
    /// Labels of x = 0, 1, 2, … for category axes (days); empty for numeric axes.
    var categories: [String] = []

    /// The palette: distinguishable in print and for the common colour-vision deficiencies.
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    private let left = 64.0, right = 16.0, top = 34.0, bottom = 58.0

    /// A line chart of `series`, with an optional diagonal (chance line of a ROC curve).
    func lines(_ series: [Series], diagonal: Bool = false) -> String {
        let (xs, ys) = ranges(series.flatMap { $0.points })
        var body = frame(xs: xs, ys: ys)
        if diagonal {
            body += "<line x1=\"\(fmt(x(xs.lowerBound, xs)))\" y1=\"\(fmt(y(ys.lowerBound, ys)))\" x2=\"\(fmt(x(xs.upperBound, xs)))\" y2=\"\(fmt(y(ys.upperBound, ys)))\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>"
        }
        for item in series where !item.points.isEmpty {
            let path = item.points.map { "\(fmt(x($0.x, xs))),\(fmt(y($0.y, ys)))" }.joined(separator: " ")
            body += "<polyline fill=\"none\" stroke=\"\(item.colour)\" stroke-width=\"2\"\(item.dashed ? " stroke-dasharray=\"6 3\"" : "") points=\"\(path)\"/>"
            if !categories.isEmpty || item.points.count <= 40 {
                for point in item.points {
                    body += "<circle cx=\"\(fmt(x(point.x, xs)))\" cy=\"\(fmt(y(point.y, ys)))\" r=\"2.5\" fill=\"\(item.colour)\"/>"
                }
            }
        }
        return svg(body, legend: series.map { ($0.name, $0.colour, $0.dashed) })
    }

    /// Bars at x = 0, 1, 2, …, one bar per series side by side in each group.
    func bars(_ series: [Series]) -> String {
        let count = max(categories.count, series.map(\.points.count).max() ?? 0)
        let xs = -0.5...(Double(count) - 0.5)
        let (_, dataYs) = ranges(series.flatMap { $0.points } + [(0, 0)])
        let ys = yRange ?? (0...niceCeiling(dataYs.upperBound))
        var body = frame(xs: xs, ys: ys)
        let groupWidth = (x(1, xs) - x(0, xs)) * 0.8
        let barWidth = groupWidth / Double(max(series.count, 1))
        for (seriesIndex, item) in series.enumerated() {
            for point in item.points {
                let left = x(point.x, xs) - groupWidth / 2 + barWidth * Double(seriesIndex)
                let top = y(point.y, ys)
                body += "<rect x=\"\(fmt(left))\" y=\"\(fmt(top))\" width=\"\(fmt(max(barWidth - 1, 1)))\" height=\"\(fmt(max(y(ys.lowerBound, ys) - top, 0)))\" fill=\"\(item.colour)\"><title>\(escape(item.name)): \(fmt(point.y))</title></rect>"
            }
        }
        return svg(body, legend: series.map { ($0.name, $0.colour, $0.dashed) })
    }

    // MARK: Drawing

    private func ranges(_ points: [(x: Double, y: Double)]) -> (ClosedRange<Double>, ClosedRange<Double>) {
        let finite = points.filter { $0.x.isFinite && $0.y.isFinite }
        func range(_ values: [Double]) -> ClosedRange<Double> {
            guard let low = values.min(), let high = values.max() else { return 0...1 }
            return low == high ? (low - 0.5)...(high + 0.5) : low...high
        }
        let xs = xRange ?? (categories.isEmpty ? range(finite.map(\.x)) : -0.25...(Double(max(categories.count, 1)) - 0.75))
        let ys = yRange ?? {
            let data = range(finite.map(\.y))
            return min(0, data.lowerBound)...niceCeiling(data.upperBound)
        }()
        return (xs, ys)
    }

    private func x(_ value: Double, _ range: ClosedRange<Double>) -> Double {
        left + (value - range.lowerBound) / (range.upperBound - range.lowerBound) * (width - left - right)
    }

    private func y(_ value: Double, _ range: ClosedRange<Double>) -> Double {
        height - bottom - (value - range.lowerBound) / (range.upperBound - range.lowerBound) * (height - top - bottom)
    }

    /// Axes, grid, ticks, labels and title.
    private func frame(xs: ClosedRange<Double>, ys: ClosedRange<Double>) -> String {
        var body = "<text x=\"\(fmt(width / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(escape(title))</text>"
        for tick in ticks(ys) {
            let position = y(tick, ys)
            body += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(position))\" x2=\"\(fmt(width - right))\" y2=\"\(fmt(position))\" stroke=\"#e4e4e4\"/>"
            body += "<text x=\"\(fmt(left - 6))\" y=\"\(fmt(position + 4))\" text-anchor=\"end\" font-size=\"11\">\(label(tick))</text>"
        }
        if categories.isEmpty {
            for tick in ticks(xs) {
                let position = x(tick, xs)
                body += "<line x1=\"\(fmt(position))\" y1=\"\(fmt(top))\" x2=\"\(fmt(position))\" y2=\"\(fmt(height - bottom))\" stroke=\"#f0f0f0\"/>"
                body += "<text x=\"\(fmt(position))\" y=\"\(fmt(height - bottom + 16))\" text-anchor=\"middle\" font-size=\"11\">\(label(tick))</text>"
            }
        } else {
            let step = max(1, categories.count / 10)
            for (index, name) in categories.enumerated() where index % step == 0 {
                let position = x(Double(index), xs)
                body += "<text x=\"\(fmt(position))\" y=\"\(fmt(height - bottom + 16))\" text-anchor=\"middle\" font-size=\"10\">\(escape(name))</text>"
            }
        }
        body += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(height - bottom))\" x2=\"\(fmt(width - right))\" y2=\"\(fmt(height - bottom))\" stroke=\"#333\"/>"
        body += "<line x1=\"\(fmt(left))\" y1=\"\(fmt(top))\" x2=\"\(fmt(left))\" y2=\"\(fmt(height - bottom))\" stroke=\"#333\"/>"
        body += "<text x=\"\(fmt((left + width - right) / 2))\" y=\"\(fmt(height - bottom + 34))\" text-anchor=\"middle\" font-size=\"12\">\(escape(xLabel))</text>"
        body += "<text transform=\"translate(16 \(fmt((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">\(escape(yLabel))</text>"
        return body
    }

    /// The legend below the plot, wrapped into as many rows as the width needs; returns the
    /// drawing and the extra height the rows beyond the first take.
    private func legend(_ entries: [(name: String, colour: String, dashed: Bool)]) -> (body: String, extraHeight: Double) {
        var body = ""
        var position = left
        var row = 0
        for (name, colour, dashed) in entries {
            // Helvetica at 11 px: capitals and underscores about 7.4 px wide, the rest about 6.
            let textWidth = name.reduce(0.0) { $0 + ($1.isUppercase || $1 == "_" ? 7.4 : 6.1) }
            let entryWidth = 20 + textWidth
            if position > left, position + entryWidth > width - right {
                row += 1
                position = left
            }
            let baseline = height - 8 + Double(row) * 16
            if dashed {
                body += "<line x1=\"\(fmt(position))\" y1=\"\(fmt(baseline - 4))\" x2=\"\(fmt(position + 13))\" y2=\"\(fmt(baseline - 4))\" stroke=\"\(colour)\" stroke-width=\"3\" stroke-dasharray=\"4 2\"/>"
            } else {
                body += "<rect x=\"\(fmt(position))\" y=\"\(fmt(baseline - 9))\" width=\"12\" height=\"10\" fill=\"\(colour)\"/>"
            }
            body += "<text x=\"\(fmt(position + 16))\" y=\"\(fmt(baseline))\" font-size=\"11\">\(escape(name))</text>"
            position += entryWidth + 8
        }
        return (body, Double(row) * 16)
    }

    private func svg(_ body: String, legend entries: [(name: String, colour: String, dashed: Bool)]) -> String {
        let (legendBody, extra) = legend(entries)
        let total = height + extra
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(fmt(width)) \(fmt(total))\" width=\"\(fmt(width))\" height=\"\(fmt(total))\" font-family=\"Helvetica, Arial, sans-serif\" role=\"img\" aria-label=\"\(escape(title))\"><rect x=\"0\" y=\"0\" width=\"\(fmt(width))\" height=\"\(fmt(total))\" fill=\"#fff\"/>\(body)\(legendBody)</svg>"
    }

    /// About five round ticks across `range`.
    private func ticks(_ range: ClosedRange<Double>) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let raw = span / 5
        let magnitude = pow10(floorLog10(raw))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var tick = (range.lowerBound / step).rounded(.up) * step
        var result: [Double] = []
        while tick <= range.upperBound + step * 1e-9 {
            result.append(abs(tick) < step * 1e-9 ? 0 : tick)
            tick += step
        }
        return result
    }

    private func niceCeiling(_ value: Double) -> Double {
        guard value > 0, value.isFinite else { return 1 }
        let magnitude = pow10(floorLog10(value))
        return ([1.0, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10].map { $0 * magnitude }.first { $0 >= value }) ?? value
    }

    private func floorLog10(_ value: Double) -> Int {
        var exponent = 0
        var scaled = value
        while scaled >= 10 { scaled /= 10; exponent += 1 }
        while scaled < 1 { scaled *= 10; exponent -= 1 }
        return exponent
    }

    private func pow10(_ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<abs(exponent) { result *= 10 }
        return exponent < 0 ? 1 / result : result
    }

    private func label(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e9 { return String(Int(value)) }
        var text = String(format3(value))
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    private func format3(_ value: Double) -> String {
        let scaled = (value * 1000).rounded() / 1000
        return scaled.description
    }

    func fmt(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : rounded.description
    }

    func escape(_ text: String) -> String { HTMLText.escape(text) }
}

/// Escaping for HTML and SVG text.
enum HTMLText {
    static func escape(_ text: String) -> String {
        var result = ""
        for character in text {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            default: result.append(character)
            }
        }
        return result
    }
}
