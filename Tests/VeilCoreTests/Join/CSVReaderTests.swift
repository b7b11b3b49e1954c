import Testing

@testable import VeilCore

struct CSVReaderTests {
    func records(_ text: String) throws -> [[String]] {
        var reader = CSVReader(bytes: Array(text.utf8), file: "t.csv")
        var out: [[String]] = []
        while let r = try reader.next() { out.append(r.fields.map { String(decoding: $0, as: UTF8.self) }) }
        return out
    }

    @Test(arguments: [
        ("a,b\nc,d\n", [["a", "b"], ["c", "d"]], "LF line ends"),
        ("a,b\r\nc,d\r\n", [["a", "b"], ["c", "d"]], "CRLF line ends"),
        ("a,b\r\nc,d", [["a", "b"], ["c", "d"]], "no line break after the last record"),
        ("\u{FEFF}a,b\n", [["a", "b"]], "byte order mark"),
        ("\"x,y\",z\n", [["x,y", "z"]], "comma inside quotes"),
        ("\"line1\nline2\",z\n", [["line1\nline2", "z"]], "line break inside quotes"),
        ("\"say \"\"hi\"\"\",z\n", [["say \"hi\"", "z"]], "doubled quotes"),
        ("a,,\n", [["a", "", ""]], "empty fields"),
        ("a\n\n\r\nb\n", [["a"], ["b"]], "empty lines skipped"),
        ("\"\",x\n", [["", "x"]], "empty quoted field"),
        ("a\rb,c\n", [["a\rb", "c"]], "a lone CR is data"),
    ])
    func reads(_ input: String, _ expected: [[String]], _ why: String) throws {
        #expect(try records(input) == expected, "\(why)")
    }

    @Test func recordsKnowTheirLineAndOffset() throws {
        var reader = CSVReader(bytes: Array("h\r\n\"a\nb\"\r\nc\r\n".utf8), file: "t.csv")
        let header = try #require(try reader.next())
        #expect(header.line == 1 && header.byteOffset == 0)
        let multi = try #require(try reader.next())
        #expect(multi.line == 2 && multi.byteOffset == 3)
        let last = try #require(try reader.next())
        #expect(last.line == 4 && last.byteOffset == 10)
        #expect(try reader.next() == nil)
    }

    @Test(arguments: [
        ("a,b\nc,\"never ends\n", 2, 6, "never ends", "unterminated quote: where it opens"),
        ("a,b\nc,d\"e\n", 2, 7, "quote inside an unquoted field", "bare quote"),
        ("a,b\n\"c\"d,e\n", 2, 7, "text after the closing quote", "text after a closing quote"),
    ])
    func rejects(_ input: String, _ line: Int, _ offset: Int64, _ message: String, _ why: String) throws {
        var reader = CSVReader(bytes: Array(input.utf8), file: "t.csv")
        let result = Result { () throws(VeilError) in while try reader.next() != nil {} }
        guard case .failure(let e) = result else {
            Issue.record("accepted: \(why)")
            return
        }
        #expect(e.line == line && e.byteOffset == offset && e.file == "t.csv", "\(why): \(e)")
        #expect(e.message.contains(message), "\(why): \(e)")
    }
}

struct IdentityTableTests {
    @Test func rowsOfOneAccountAddUpAndFlagsAreSpelledManyWays() throws {
        let text = """
            Account_ID , cookie_id,email,recipient_token,marketing_opt_out,restricted,note
            a1,c1,,,no,,"x, y"
            a2,c2,a2@example.com,t2,YES,0,
            a1,c9,a1@example.com,,1,false,
            a3,,,t3,,y,
            """
        let t = try IdentityTable(bytes: Array(text.utf8), file: "ids.csv")
        #expect(t.accounts.map(\.accountID) == ["a1", "a2", "a3"])
        #expect(t.accounts[0].cookies == [Array("c1".utf8), Array("c9".utf8)])
        #expect(t.accounts[0].marketingOptOut && !t.accounts[0].restricted)
        #expect(t.accounts[1].emails == [Array("a2@example.com".utf8)] && t.accounts[1].marketingOptOut)
        #expect(t.accounts[2].restricted && t.accounts[2].recipientTokens == [Array("t3".utf8)])
        #expect(t.fingerprint.hasPrefix("sha256:") && t.fingerprint.count == 71)
    }

    @Test(arguments: [
        ("cookie_id\nc1\n", "no account_id column", "no account_id"),
        ("account_id,name\na1,x\n", "at least one of cookie_id", "no identifier column"),
        ("account_id,cookie_id\na1,c1,extra\n", "3 fields, the header has 2", "field count"),
        ("account_id,cookie_id\n,SECRETCOOKIE\n", "account_id is empty", "empty account"),
        ("account_id,cookie_id,restricted\na1,SECRETCOOKIE,maybe\n", "must be true/false", "bad boolean"),
        ("account_id,cookie_id,cookie_id\na1,c,d\n", "appears twice", "duplicate column"),
        ("", "empty", "empty file"),
    ])
    func rejects(_ text: String, _ message: String, _ why: String) throws {
        let result = Result { () throws(VeilError) in try IdentityTable(bytes: Array(text.utf8), file: "ids.csv") }
        guard case .failure(let e) = result else {
            Issue.record("accepted: \(why)")
            return
        }
        #expect(e.message.contains(message), "\(why): \(e)")
        #expect(!e.description.contains("SECRET"), "an error never shows a field's content")
    }
}
