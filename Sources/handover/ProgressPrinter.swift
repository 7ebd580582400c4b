import Foundation
import HandoverCore

/// Shows export progress on standard error: one redrawn line on a terminal, plain lines otherwise.
///
/// On a terminal the line shows the table, rows done of the total where known, the rate and the
/// elapsed time, redrawn at most ten times a second. Elsewhere (a pipe, a log file) each table,
/// validation and archive step gets one line when it starts or ends, and no control characters.
final class ProgressPrinter: @unchecked Sendable {
    private let lock = NSLock()
    private let isTerminal = isatty(STDERR_FILENO) != 0
    private let started = Date()
    private var lastDraw = Date.distantPast
    private var item = ""
    private var itemStarted = Date()
    private var lastRows = 0
    private var drewLine = false

    /// The observer to give ``BundleOptions/progress``.
    var observer: ExportProgressObserver {
        { [self] progress in self.report(progress) }
    }

    private func report(_ progress: ExportProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let key = progress.phase.rawValue + " " + progress.exporter + "/" + progress.item
        let changed = key != item
        if changed {
            if !isTerminal, !item.isEmpty, item.hasPrefix("exporting") {
                write(
                    "\(item.dropFirst("exporting ".count)): \(lastRows) rows in \(seconds(now.timeIntervalSince(itemStarted)))\n"
                )
            }
            item = key
            itemStarted = now
        }
        lastRows = progress.rows
        if isTerminal {
            guard changed || now.timeIntervalSince(lastDraw) >= 0.1 || progress.phase == .finished else { return }
            lastDraw = now
            if progress.phase == .finished {
                if drewLine { write("\r\u{1B}[2K") }
                return
            }
            write("\r\u{1B}[2K" + line(progress, now))
            drewLine = true
        } else if changed && progress.phase != .exporting && progress.phase != .finished {
            write(line(progress, now) + "\n")
        }
    }

    private func line(_ progress: ExportProgress, _ now: Date) -> String {
        let elapsed = seconds(now.timeIntervalSince(started))
        switch progress.phase {
        case .exporting:
            var text = "exporting \(progress.exporter)/\(progress.item)  \(progress.rows)"
            if let total = progress.total { text += " / \(total)" }
            let span = now.timeIntervalSince(itemStarted)
            if span > 0.2 { text += " rows  \(Int(Double(progress.rows) / span)) rows/s" } else { text += " rows" }
            return text + "  " + elapsed
        case .validating: return "validating the \(progress.exporter) files against their schemas  " + elapsed
        case .packing: return "writing the \(progress.item)  " + elapsed
        case .finished: return ""
        }
    }

    private func seconds(_ interval: TimeInterval) -> String {
        let total = Int(interval)
        return interval < 10 ? String(format: "%.1fs", interval) : "\(total / 60):" + String(format: "%02d", total % 60)
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
