/// Where a topology's events come from and what they look like.
public struct SourceSpec: Sendable, Equatable {
    /// The Kafka topics consumed (live runtime).
    public var topics: [String]
    /// How records are encoded.
    public var format: EventFormat
    /// The CSV delimiter (replay of CSV files); `,` by default.
    public var delimiter: UInt8
    /// Fields forming the record key on the source topics.
    public var keyFields: [String]
    /// Fields that identify an event; replay writes them first in every output row.
    public var idFields: [String]
    /// Which field carries event time and how it is written.
    public var timestamp: TimestampSpec
    /// The fields an event has, in declaration order.
    public var fields: [FieldSpec]
    /// Fields a record may lack, even a key (whose value is then empty: one key for all such
    /// records), and a CSV file's header may leave out.
    public var optionalFields: [String] = []
    /// Bounds on a record's size and shape and on its event time.
    public var limits = SourceLimits()

    /// Creates a source description.
    public init(topics: [String], format: EventFormat, delimiter: UInt8 = UInt8(ascii: ","), keyFields: [String], idFields: [String],
                timestamp: TimestampSpec, fields: [FieldSpec]) {
        self.topics = topics
        self.format = format
        self.delimiter = delimiter
        self.keyFields = keyFields
        self.idFields = idFields
        self.timestamp = timestamp
        self.fields = fields
    }

    /// The declared field named `name`.
    public func field(named name: String) -> FieldSpec? { fields.first { $0.name == name } }
}

/// The encoding of source records.
public enum EventFormat: String, Sendable, Equatable, CaseIterable {
    /// One JSON object per record (per line in files).
    case json
    /// Delimited text with a header row (files) or one row per record.
    case csv
}

/// A field of the source events.
public struct FieldSpec: Sendable, Equatable {
    /// The field's name as it appears in records.
    public var name: String
    /// Its type; numbers and booleans can feed features.
    public var type: FieldType
    /// The values it may take (a categorical field), as written in the topology; nil for any.
    /// An event with another value is refused. Numbers compare by value (`1` matches `1.0`).
    public var allowedValues: [String]?

    public init(name: String, type: FieldType, allowedValues: [String]? = nil) {
        self.name = name
        self.type = type
        self.allowedValues = allowedValues
    }
}

/// The type of a source field.
public enum FieldType: String, Sendable, Equatable, CaseIterable {
    case int
    case double
    case bool
    case string

    /// Whether values of this type can be aggregated (booleans count as 0 and 1).
    public var isNumeric: Bool { self != .string }
}

/// The event-time field and its format.
public struct TimestampSpec: Sendable, Equatable {
    /// The field holding event time.
    public var field: String
    /// How it is written.
    public var format: TimestampFormat

    public init(field: String, format: TimestampFormat) {
        self.field = field
        self.format = format
    }
}

/// How event time is written. Datetimes without a zone are read as UTC.
public enum TimestampFormat: String, Sendable, Equatable, CaseIterable {
    /// `YYYY-MM-DD HH:MM:SS` or ISO 8601 (`T` separator, fractional seconds, `Z` or `±HH:MM`).
    case datetime
    /// Seconds since the Unix epoch (fractions allowed).
    case epochSeconds = "epoch_seconds"
    /// Milliseconds since the Unix epoch.
    case epochMillis = "epoch_millis"
}
