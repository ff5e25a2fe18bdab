import Logging
import Synchronization
import Testing
import VigilCodec
@testable import VigilRuntime

struct LoggingTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var sink: LogSink { LogSink { line in self.lines.withLock { $0.append(line) } } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func jsonLinesCarryTimestampLevelLabelMessageAndMetadata() throws {
        let captured = Lines()
        var logger = Logger(label: "vigil.runtime") { VigilLogHandler(label: $0, level: .info, format: .json, sink: captured.sink) }
        logger[metadataKey: "instance"] = "scorer-1"
        logger.debug("not shown")
        logger.info("committed \"batch\"\nsecond line", metadata: ["events": "500", "partitions": .array(["0", "1"]), "tags": .dictionary(["b": "2", "a": "1"])])
        let lines = captured.all
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(!line.contains("\n"))
        let prefix = #"{"timestamp":""#
        #expect(line.hasPrefix(prefix))
        let timestamp = line.dropFirst(prefix.count).prefix(24)
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z") && timestamp.dropFirst(10).hasPrefix("T"))
        #expect(line.hasSuffix(#"","level":"info","label":"vigil.runtime","message":"committed \"batch\"\nsecond line","metadata":{"events":"500","instance":"scorer-1","partitions":["0","1"],"tags":{"a":"1","b":"2"}}}"#))
    }

    @Test func textLines() {
        let captured = Lines()
        let logger = Logger(label: "vigil.kafka") { VigilLogHandler(label: $0, level: .trace, format: .text, sink: captured.sink) }
        logger.warning("rebalance", metadata: ["partitions": "0,1", "reason": "member left group"])
        let line = captured.all.first ?? ""
        #expect(line.dropFirst(24).hasPrefix(" warning vigil.kafka: rebalance partitions=0,1 reason=\"member left group\""))
    }

    @Test func controlCharactersAreEscapedInJSON() {
        var out = ""
        JSONText.appendString("tab\tbell\u{07}quote\"slash\\é", to: &out)
        #expect(out == #""tab\tbell\u0007quote\"slash\\é""#)
    }

    @Test func timestampsAreRFC3339UTC() {
        #expect(LogTimestamp.format(seconds: 0, milliseconds: 5) == "1970-01-01T00:00:00.005Z")
        #expect(LogTimestamp.format(seconds: 1_700_000_000, milliseconds: 123) == "2023-11-14T22:13:20.123Z")
    }
}
