// The report in a real browser: Debian's chromium (headless) loads the page from disk, runs the
// embedded chart library and our script, and dumps the DOM and a screenshot. The DOM must carry
// the numbers and data-charts-rendered equal to the number of charts; the screenshot must be far
// from blank (its PNG is compared with a blank page's, rendered the same way).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <tuple>

#include "report/report.h"
#include "report_fixtures.h"
#include "support/test_support.h"

namespace pixelrec::report {
namespace {

using test::read_text;
using test::run_command;
using test::ScratchDir;
using test::shell_quote;
using test::write_text;

std::string find_chromium() {
  const test::CommandResult which =
      run_command("command -v chromium || command -v chromium-browser");
  std::string path = which.output.substr(0, which.output.find('\n'));
  return which.exit_code == 0 ? path : "";
}

// Runs headless chromium on `page`; writes the screenshot to `png` and returns the dumped DOM
// (empty when dump_dom is false).
std::string run_browser(const std::string& chromium, const ScratchDir& dir,
                        const std::filesystem::path& page, const std::filesystem::path& png,
                        bool dump_dom, const std::string& window = "1200,2000") {
  const auto dom = dir / (png.stem().string() + ".dom.html");
  const auto log = dir / (png.stem().string() + ".chromium.log");
  const std::string command =
      "timeout 180 " + shell_quote(chromium) +
      " --headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0"
      " --user-data-dir=" +
      shell_quote((dir / "profile").string()) + " --window-size=" + window +
      " --screenshot=" + shell_quote(png.string()) + (dump_dom ? " --dump-dom" : "") + " " +
      shell_quote("file://" + page.string()) + " > " + shell_quote(dom.string()) + " 2> " +
      shell_quote(log.string());
  const test::CommandResult result = run_command(command);
  EXPECT_EQ(result.exit_code, 0) << command << "\n" << read_text(log);
  return dump_dom ? read_text(dom) : "";
}

uint32_t big_endian(const std::string& bytes, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(ReportBrowser, ChromiumDrawsEveryChartAndTheScreenshotIsNotBlank) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium not found: install chromium (scripts/bootstrap.sh installs it)";
  ScratchDir dir("report_browser");
  fixtures::write_run(dir / "run");
  fixtures::write_study(dir / "study");
  const ReportSummary summary =
      write_report({{dir / "run", dir / "study"}, dir / "report.html", ""});
  ASSERT_EQ(summary.charts, 12);
  write_text(dir / "blank.html",
             "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>"
             "<body></body></html>\n");

  const std::string dom =
      run_browser(chromium, dir, dir / "report.html", dir / "report.png", /*dump_dom=*/true);
  // The script ran after the library drew every chart.
  EXPECT_NE(dom.find("data-charts-rendered=\"12\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_EQ(count(dom, "data-rendered=\"true\""), 12u);
  EXPECT_EQ(dom.find("class=\"chart-error\""), std::string::npos);
  // Numbers are in the HTML, not only in canvases.
  EXPECT_NE(dom.find("title=\"0.1250706873550421\">0.1251</td>"), std::string::npos);
  EXPECT_NE(dom.find("title=\"1.5476051287611116e-51\">1.55e-51</td>"), std::string::npos);
  EXPECT_NE(dom.find("title=\"0.20402872557227347\">0.204</td>"), std::string::npos);

  run_browser(chromium, dir, dir / "blank.html", dir / "blank.png", /*dump_dom=*/false);
  const std::string report_png = read_text(dir / "report.png");
  const std::string blank_png = read_text(dir / "blank.png");
  ASSERT_GT(report_png.size(), 24u);
  ASSERT_GT(blank_png.size(), 24u);
  EXPECT_EQ(report_png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(report_png.substr(12, 4), "IHDR");
  EXPECT_EQ(big_endian(report_png, 16), 1200u);  // width
  EXPECT_EQ(big_endian(report_png, 20), 2000u);  // height
  EXPECT_EQ(big_endian(blank_png, 16), 1200u);
  // A blank page compresses to almost nothing; text, tables and charts do not.
  EXPECT_GT(report_png.size(), 5 * blank_png.size())
      << "report " << report_png.size() << " bytes, blank " << blank_png.size() << " bytes";
}

// The page's console messages (errors, warnings, logs) in chromium's log of `png`'s run.
std::string console_lines(const ScratchDir& dir, const std::filesystem::path& png) {
  std::string lines;
  std::istringstream log(read_text(dir / (png.stem().string() + ".chromium.log")));
  for (std::string line; std::getline(log, line);)
    if (line.find(":CONSOLE") != std::string::npos) lines += line + "\n";
  return lines;
}

// Desktop and phone first screens: the summary opens the page, every chart is drawn, the console
// stays silent. The screenshots are kept in <build>/tests/test-output/report/ for a person to see.
TEST(ReportBrowser, FirstScreenAtDesktopAndPhoneWidthsOpensWithTheSummary) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium not found: install chromium (scripts/bootstrap.sh installs it)";
  ScratchDir dir("report_browser_screens");
  fixtures::write_run(dir / "run");
  fixtures::write_study(dir / "study");
  const ReportSummary summary =
      write_report({{dir / "run", dir / "study"}, dir / "report.html", ""});
  const std::filesystem::path kept = std::filesystem::current_path() / "test-output" / "report";
  std::filesystem::create_directories(kept);
  for (const auto& [name, width, height] :
       {std::tuple<std::string, uint32_t, uint32_t>{"desktop", 1280, 800}, {"phone", 390, 844}}) {
    const auto png = dir / (name + ".png");
    const std::string dom = run_browser(chromium, dir, dir / "report.html", png, /*dump_dom=*/true,
                                        std::to_string(width) + "," + std::to_string(height));
    EXPECT_NE(dom.find("data-charts-rendered=\"" + std::to_string(summary.charts) + "\""),
              std::string::npos)
        << name;
    EXPECT_EQ(count(dom, "data-rendered=\"true\""), size_t(summary.charts)) << name;
    EXPECT_EQ(dom.find("class=\"chart-error\""), std::string::npos) << name;
    EXPECT_EQ(console_lines(dir, png), "") << name;
    // The first thing in <main> is the summary, and it names the winner.
    const size_t main = dom.find("<main>");
    ASSERT_NE(main, std::string::npos) << name;
    EXPECT_EQ(dom.find("<section", main), dom.find("<section id=\"summary\">", main)) << name;
    EXPECT_NE(dom.find("multimodal wins task full"), std::string::npos) << name;
    const std::string bytes = read_text(png);
    ASSERT_GT(bytes.size(), 24u) << name;
    EXPECT_EQ(big_endian(bytes, 16), width) << name;
    EXPECT_EQ(big_endian(bytes, 20), height) << name;
    std::filesystem::copy_file(png, kept / png.filename(),
                               std::filesystem::copy_options::overwrite_existing);
    std::cout << "report first screen (" << name << ", " << width << "x" << height
              << "): " << (kept / png.filename()).string() << "\n";
  }
}

}  // namespace
}  // namespace pixelrec::report
