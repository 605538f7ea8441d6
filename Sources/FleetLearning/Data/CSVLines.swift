/// TinyFleet's one CSV splitter: plain comma-separated values without quoting, as pandas and numpy write
/// them; `\n`, `\r\n` or `\r` line ends; blank lines skipped. It walks the text in place: nothing is allocated
/// for lines ahead of the one being read, so what a reader keeps is bounded by what it has read and
/// validated, never by a count announced by the input (a crafted file of a huge header and many short lines
/// costs one line at a time).
public struct CSVLines: Sequence {
    public struct Line {
        /// 1 for the first line of the text (the header), counting blank lines too.
        public var number: Int
        public var text: Substring

        /// The line's fields, untrimmed.
        public var fields: [Substring] { text.split(separator: ",", omittingEmptySubsequences: false) }
    }

    private let text: Substring

    public init(_ text: some StringProtocol) {
        self.text = Substring(text)
    }

    /// The fields of the first non-blank line, trimmed (a header), and the lines after it; nil when the text
    /// has no non-blank line.
    public var headerAndRows: (header: [String], rows: Rows)? {
        var iterator = makeIterator()
        guard let first = iterator.next() else { return nil }
        let header = first.fields.map { Self.trimmed($0) }
        return (header, Rows(text: text, start: iterator.position, number: first.number))
    }

    /// The lines that follow the header.
    public struct Rows: Sequence {
        let text: Substring
        let start: String.Index
        let number: Int

        public func makeIterator() -> Iterator { Iterator(text: text, position: start, number: number) }
    }

    public func makeIterator() -> Iterator { Iterator(text: text, position: text.startIndex, number: 0) }

    public struct Iterator: IteratorProtocol {
        let text: Substring
        fileprivate(set) var position: String.Index
        var number: Int

        public mutating func next() -> Line? {
            let utf8 = text.utf8
            while position < utf8.endIndex {
                let start = position
                var end = start
                while end < utf8.endIndex, utf8[end] != 0x0A, utf8[end] != 0x0D { end = utf8.index(after: end) }
                position = end
                if position < utf8.endIndex {
                    let ending = utf8[position]
                    position = utf8.index(after: position)
                    if ending == 0x0D, position < utf8.endIndex, utf8[position] == 0x0A {
                        position = utf8.index(after: position)
                    }
                }
                number += 1
                let line = text[start..<end]
                if !line.allSatisfy(\.isWhitespace) { return Line(number: number, text: line) }
            }
            return nil
        }
    }

    /// `field` without surrounding spaces and tabs.
    public static func trimmed(_ field: Substring) -> String {
        var slice = field
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
