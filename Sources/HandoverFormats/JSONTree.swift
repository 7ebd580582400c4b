/// A JSON document built in order, rendered with two-space indentation.
enum Tree {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([Tree])
    case object([(String, Tree)])

    func render() -> [UInt8] {
        var out = OutputBuffer(sink: MemorySink())
        write(to: &out, indent: 0)
        out.append(0x0A)
        return out.bytes
    }

    private func write(to out: inout OutputBuffer, indent: Int) {
        func pad(_ level: Int) -> Repeated<UInt8> { repeatElement(0x20, count: level * 2) }
        switch self {
        case .null: out.append("null")
        case .bool(let value): out.append(value ? "true" : "false")
        case .number(let value):
            if let exact = Int64(exactly: value) {
                out.append(integer: exact)
            } else {
                out.append(utf8: value.description)
            }
        case .string(let text): JSONText.appendString(text, to: &out)
        case .array(let items):
            guard !items.isEmpty else { return out.append("[]") }
            out.append("[\n")
            for (index, item) in items.enumerated() {
                out.bytes.append(contentsOf: pad(indent + 1))
                item.write(to: &out, indent: indent + 1)
                out.append(index + 1 < items.count ? ",\n" : "\n")
            }
            out.bytes.append(contentsOf: pad(indent))
            out.append("]")
        case .object(let members):
            guard !members.isEmpty else { return out.append("{}") }
            out.append("{\n")
            for (index, (key, value)) in members.enumerated() {
                out.bytes.append(contentsOf: pad(indent + 1))
                JSONText.appendString(key, to: &out)
                out.append(": ")
                value.write(to: &out, indent: indent + 1)
                out.append(index + 1 < members.count ? ",\n" : "\n")
            }
            out.bytes.append(contentsOf: pad(indent))
            out.append("}")
        }
    }
}
