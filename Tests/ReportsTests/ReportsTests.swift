import Foundation
import XCTest
@testable import Reports

final class HTMLTests: XCTestCase {
    func testEscapesAllFiveCharacters() {
        XCTAssertEqual(HTML.escape("&<>\"'"), "&amp;&lt;&gt;&quot;&#39;")
        XCTAssertEqual(HTML.escape("plain é text"), "plain é text")
        XCTAssertEqual(HTML.escape("a<b>&\"c'.png"), "a&lt;b&gt;&amp;&quot;c&#39;.png")
    }

    func testURLPercentEncodesPerComponentThenEscapes() {
        XCTAssertEqual(HTML.url("images/my photo #1.png"), "images/my%20photo%20%231.png")
        XCTAssertEqual(HTML.url("a?b/100%.png"), "a%3Fb/100%25.png")
        XCTAssertEqual(HTML.url("été/x.png"), "%C3%A9t%C3%A9/x.png")
        // The file name of the escaping test: percent-encoded where a URL needs it, then HTML-escaped.
        XCTAssertEqual(HTML.url("a<b>&\"c'.png"), "a%3Cb%3E&amp;%22c&#39;.png")
        // Absolute paths become file:// URLs.
        XCTAssertEqual(HTML.url("/tmp/run 1/a#b.png"), "file:///tmp/run%201/a%23b.png")
        // A scheme-looking relative name stays a relative name.
        XCTAssertEqual(HTML.url("javascript:alert(1)"), "javascript%3Aalert(1)")
        // URLs keep their structure.
        XCTAssertEqual(HTML.url("https://example.org/a b?q=1&r=2#f"),
                       "https://example.org/a%20b?q=1&amp;r=2#f")
    }
}

final class LossLogEntryTests: XCTestCase {
    func testRoundTripThroughJSONLineIncludingNaN() throws {
        let e = LossLogEntry(epoch: 3, iteration: 120, learningRate: 0.0002, imagesPerSecond: 4.1,
                             losses: ["G_A": 0.31, "D_B": .nan, "cycle_A": .infinity, "idt": -.infinity, "G_L1": 31.25])
        let line = try e.jsonLine()
        XCTAssertFalse(line.contains("\n"))
        XCTAssertEqual(line, #"{"D_B":"nan","G_A":0.31,"G_L1":31.25,"cycle_A":"inf","epoch":3,"#
                       + #""idt":"-inf","images_per_s":4.1,"iter":120,"lr":0.0002}"#)
        let back = try XCTUnwrap(LossLogEntry.parse(line[...]))
        XCTAssertEqual(back, e)
        XCTAssertTrue(try XCTUnwrap(back.losses["D_B"]).isNaN)
        XCTAssertEqual(back.losses["cycle_A"], .infinity)
        XCTAssertEqual(back.losses["idt"], -.infinity)
        XCTAssertEqual(back.learningRate, 0.0002)
    }

    func testOptionalFieldsAbsentAndForeignKeysIgnored() throws {
        let e = LossLogEntry(epoch: 1, iteration: 5, losses: ["D": 0.5])
        XCTAssertEqual(try e.jsonLine(), #"{"D":0.5,"epoch":1,"iter":5}"#)
        let parsed = try XCTUnwrap(LossLogEntry.parse(#"  {"epoch":1,"iter":5,"D":0.5,"time":"12:00","ok":true}  "#))
        XCTAssertNil(parsed.learningRate)
        XCTAssertNil(parsed.imagesPerSecond)
        XCTAssertEqual(parsed.losses, ["D": 0.5])
    }

    func testParseRejectsTornAndForeignLines() {
        let full = #"{"epoch":3,"iter":120,"G_A":0.31}"#
        XCTAssertNotNil(LossLogEntry.parse(full[...]))
        XCTAssertNil(LossLogEntry.parse(#"{"epoch":3,"iter":12"#))
        XCTAssertNil(LossLogEntry.parse(#"{"epoch":3,"iter":120,"G_A":0.3"#))
        XCTAssertNil(LossLogEntry.parse(""))
        XCTAssertNil(LossLogEntry.parse("[1,2]"))
        XCTAssertNil(LossLogEntry.parse(#"{"iter":120,"G_A":0.31}"#))  // no epoch
        let log = full + "\n" + #"{"epoch":3,"iter":140,"G_A":0.29}"# + "\n" + #"{"epoch":3,"it"#
        XCTAssertEqual(LossLogEntry.parseLog(log).map(\.iteration), [120, 140])
    }

    func testReservedLossNameIsAnError() {
        XCTAssertThrowsError(try LossLogEntry(epoch: 1, iteration: 1, losses: ["lr": 1]).jsonLine())
    }
}

final class PageTests: XCTestCase {
    static func entries() -> [LossLogEntry] {
        (0..<90).map { i in
            let epoch = i / 30 + 1
            return LossLogEntry(epoch: epoch, iteration: (i % 30) * 10 + 10, learningRate: 0.0002 - Double(i) * 1e-6,
                                imagesPerSecond: 4 + Double(i % 7) * 0.1,
                                losses: ["G_A": 0.3 + Double(i % 5) * 0.01, "G_L1": 30 - Double(i) * 0.1,
                                         "D": i == 40 ? .nan : 0.5])
        }
    }

    static let samples = [
        EpochSamples(epoch: 1, images: [SampleImage(caption: "real_A", path: "images/epoch001_real_A.png"),
                                        SampleImage(caption: "fake_B", path: "images/epoch001_fake_B.png")]),
        EpochSamples(epoch: 3, images: [SampleImage(caption: "rec_A", path: "images/epoch003_rec_A.png"),
                                        SampleImage(caption: "idt_B", path: "images/epoch 003 #idt_B.png")]),
    ]

    func page(_ entries: [LossLogEntry] = entries(), title: String = "run <1>") -> String {
        TrainingReportPage.html(title: title, updated: Date(timeIntervalSince1970: 1_700_000_000),
                                entries: entries, samples: Self.samples)
    }

    func count(_ needle: String, in s: String) -> Int { s.components(separatedBy: needle).count - 1 }

    func testOnePlotPerLossPlusLearningRateAndSpeed() {
        let html = page()
        XCTAssertEqual(count("<svg", in: html), 3 + 2)
        for name in ["G_A", "G_L1", "D", "learning rate", "images / s"] {
            XCTAssertTrue(html.contains("<b>\(name)</b>"), name)
        }
        // Without lr and images/s, only the losses are plotted.
        let bare = Self.entries().map { LossLogEntry(epoch: $0.epoch, iteration: $0.iteration, losses: $0.losses) }
        XCTAssertEqual(count("<svg", in: page(bare)), 3)
        // Every plot is sized SVG made of polylines; epochs 2 and 3 start in each.
        XCTAssertEqual(count("viewBox=\"0 0 360 210\"", in: html), 5)
        XCTAssertEqual(count("<polyline", in: html), 10)
        XCTAssertEqual(count("class=\"epoch\"", in: html), 2 * 5)
        XCTAssertFalse(html.contains("nan"))
    }

    func testCaptionsAndLatestEpochFirst() throws {
        let html = page()
        for caption in ["real_A", "fake_B", "rec_A", "idt_B"] {
            XCTAssertTrue(html.contains("<figcaption>\(caption)</figcaption>"), caption)
        }
        XCTAssertTrue(html.contains("src=\"images/epoch%20003%20%23idt_B.png\""))
        let e3 = try XCTUnwrap(html.range(of: "<h3>epoch 3</h3>"))
        let e1 = try XCTUnwrap(html.range(of: "<h3>epoch 1</h3>"))
        XCTAssertLessThan(e3.lowerBound, e1.lowerBound)
    }

    func testNoExternalReferences() {
        for html in [page(), ImageTablePage.html(title: "t", summary: "s", rows: [
            ImageTableRow(label: "x.png", cells: [SampleImage(caption: "input", path: "in/x.png")])])] {
            let withoutXmlns = html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "")
            XCTAssertFalse(withoutXmlns.lowercased().contains("http"))
            XCTAssertFalse(withoutXmlns.lowercased().contains("<script"))
            XCTAssertFalse(withoutXmlns.contains("//"))
        }
    }

    func testHostileNamesAppearOnlyEscaped() {
        let hostile = "<script>alert('x')</script>"
        let entries = Self.entries().map { e -> LossLogEntry in
            var e = e
            e.losses[hostile] = 1
            return e
        }
        let samples = [EpochSamples(epoch: 1, images: [SampleImage(caption: hostile, path: "a<b>&\"c'.png")])]
        let html = TrainingReportPage.html(title: hostile, updated: Date(), entries: entries, samples: samples)
        XCTAssertFalse(html.contains("<script"))
        XCTAssertFalse(html.contains("a<b>"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        XCTAssertTrue(html.contains("src=\"a%3Cb%3E&amp;%22c&#39;.png\""))
        XCTAssertEqual(count("<svg", in: html), 4 + 2)

        let table = ImageTablePage.html(title: hostile, summary: hostile,
                                        rows: [ImageTableRow(label: hostile, cells: samples[0].images)])
        XCTAssertFalse(table.contains("<script"))
        XCTAssertEqual(count("&lt;script&gt;", in: table), 6)  // <title>, h1, summary, row label, alt, caption
    }

    func testImageTableRows() {
        let rows = [
            ImageTableRow(label: "a.png", cells: [SampleImage(caption: "real_A", path: "a/real.png"),
                                                  SampleImage(caption: "fake_B", path: "a/fake.png")]),
            ImageTableRow(label: "b.png", cells: [SampleImage(caption: "real_A", path: "b/real.png")]),
        ]
        let html = ImageTablePage.html(title: "test", summary: "2 images, 0.5 s each", rows: rows)
        XCTAssertEqual(count("<tr>", in: html), 2)
        XCTAssertEqual(count("<img ", in: html), 3)
        XCTAssertTrue(html.contains("<p class=\"meta\">2 images, 0.5 s each</p>"))
        XCTAssertFalse(ImageTablePage.html(title: "t", summary: nil, rows: rows).contains("class=\"meta\""))
    }
}

final class PlotTests: XCTestCase {
    func testEMAMatchesTensorBoardDebiasedFormula() {
        // weight 0.6: s1 = 1; s2 = (0.24*1 + 0.4*2... ) computed by hand below.
        let s = SVGPlot.ema([1, 2, 3], weight: 0.6)
        XCTAssertEqual(s[0], 1, accuracy: 1e-12)
        XCTAssertEqual(s[1], (0.6 * 0.4 * 1 + 0.4 * 2) / (1 - 0.36), accuracy: 1e-12)
        XCTAssertEqual(s[2], (0.36 * 0.4 * 1 + 0.6 * 0.4 * 2 + 0.4 * 3) / (1 - 0.216), accuracy: 1e-12)
    }

    func testCompactNumbersAndTicks() {
        XCTAssertEqual(compactNumber(0.0002), "0.0002")
        XCTAssertEqual(compactNumber(0.30000000000000004), "0.3")
        XCTAssertEqual(compactNumber(12000), "12k")
        XCTAssertEqual(compactNumber(123.456), "123")
        XCTAssertEqual(SVGPlot.ticks(0, 1, count: 4), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
    }

    func testIterationsWithinEpochsBecomeCumulative() {
        let e = [(1, 10), (1, 20), (2, 10), (2, 20), (3, 5)].map {
            LossLogEntry(epoch: $0.0, iteration: $0.1, losses: [:])
        }
        let xs = TrainingReportPage.xPositions(e)
        XCTAssertEqual(xs, [10, 20, 30, 40, 45])
        XCTAssertEqual(TrainingReportPage.epochStarts(e, xs: xs).map(\.epoch), [2, 3])
        XCTAssertEqual(TrainingReportPage.epochStarts(e, xs: xs).map(\.x), [25, 42.5])
    }
}
