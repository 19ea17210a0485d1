import Testing
@testable import TrainyardAWS

/// The XML reader AWS answers are read with: what it accepts, and what hostile input it refuses.
@Suite("AWS XML")
struct AWSXMLTests {
    @Test func readsElementsTextEntitiesAndCDATA() throws {
        let root = try AWSXML.parse(Array("""
        \u{FEFF}<?xml version="1.0" encoding="UTF-8"?>
        <!-- a comment -->
        <s3:ListBucketResult xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">
          <Name>bucket</Name>
          <Contents><Key>a &amp; b &lt;c&gt; &#x41;&#66; &quot;&apos;</Key><Size>3</Size></Contents>
          <Contents><Key><![CDATA[x<y]]></Key><Empty/></Contents>
        </s3:ListBucketResult>
        """.utf8))
        #expect(root.name == "ListBucketResult")
        #expect(root.text(of: "Name") == "bucket")
        #expect(root.children("Contents").compactMap { $0.text(of: "Key") } == ["a & b <c> AB \"'", "x<y"])
        #expect(root.children("Contents").last?.child("Empty")?.text == "")
        #expect(root.descendant("Size")?.text == "3")
    }

    @Test(arguments: [
        "", "<a>", "<a></b>", "<a>&unknown;</a>", "<a>x</a><b/>", "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
        String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100), "<a b=c></a>",
    ])
    func refusesMalformedOrHostileDocuments(_ text: String) {
        #expect(throws: AWSXMLError.self) { try AWSXML.parse(Array(text.utf8)) }
    }

    @Test func escapesWhatItWrites() throws {
        let key = "a&b<c>\"'\r\u{1}"
        let root = try AWSXML.parse(Array("<Key>\(key.xmlEscaped)</Key>".utf8))
        #expect(root.text == key)
    }

    @Test func errorBodiesOfEveryShape() {
        let s3 = AWSErrorBody.parse(status: 404, headers: [:], body: Array("<Error><Code>NoSuchKey</Code><Message>gone</Message><RequestId>R1</RequestId></Error>".utf8))
        #expect(s3 == AWSErrorBody(code: "NoSuchKey", message: "gone", requestID: "R1"))
        let head = AWSErrorBody.parse(status: 404, headers: ["x-amz-request-id": "R2"], body: [])
        #expect(head == AWSErrorBody(code: "NotFound", message: "not found", requestID: "R2"))
        let garbage = AWSErrorBody.parse(status: 502, headers: [:], body: Array("<html>bad gateway".utf8))
        #expect(garbage.code == "HTTP502")
        #expect(garbage.message == "(unreadable error body)")
    }
}
