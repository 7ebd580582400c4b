public import HandoverCore

/// The table the format fuzzers validate against: every field type and every kind of constraint.
public let fuzzTable = TableSchema(
    name: "contacts",
    fields: [
        Field("id", .integer, required: true, constraints: Constraints(minimum: 1)),
        Field("name", .string, required: true, constraints: Constraints(minLength: 1, maxLength: 40)),
        Field("stage", .string, constraints: Constraints(enumeration: ["lead", "won", "lost & gone"])),
        Field("code", .string, constraints: Constraints(pattern: "[A-Z]{2}-[0-9]{3}")),
        Field("score", .number, constraints: Constraints(minimum: 0, maximum: 10)),
        Field("note", .string), Field("vip", .boolean), Field("born", .date), Field("seen", .datetime),
        Field("photo", .binary),
    ],
    primaryKey: ["id"])

/// libFuzzer's input as bytes.
public func bytes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> [UInt8] {
    guard let data, size > 0 else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: size))
}
