// CRC-32C against published vectors, and TensorBoard event files parsed by an independent reader
// (its own bitwise CRC-32C and protobuf decoding) that checks every record and value written.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "support/test_support.h"
#include "train/crc32c.h"
#include "train/tensorboard.h"

namespace pixelrec::train {
namespace {

using test::read_text;
using test::ScratchDir;
namespace fs = std::filesystem;

uint32_t crc_of(const std::string& s) { return crc32c(s.data(), s.size()); }

TEST(Crc32c, MatchesPublishedVectors) {
  EXPECT_EQ(crc_of("123456789"), 0xE3069283u);
  EXPECT_EQ(crc_of(""), 0u);
  // RFC 3720 (iSCSI) appendix B.4.
  EXPECT_EQ(crc_of(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc_of(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending += char(i);
    descending += char(31 - i);
  }
  EXPECT_EQ(crc_of(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc_of(descending), 0x113FDB5Cu);
}

TEST(Crc32c, ContinuesOverSplitBuffersAndMasksLikeTFRecord) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (size_t cut : {size_t(0), size_t(1), size_t(20), text.size()})
    EXPECT_EQ(crc32c(text.data() + cut, text.size() - cut, crc32c(text.data(), cut)), crc_of(text));
  // ((0xE3069283 >> 15) | (0xE3069283 << 17)) + 0xa282ead8, computed by hand.
  EXPECT_EQ(masked_crc32c("123456789", 9), 0xC78AB0E5u);
}

// ---- An independent reader: bitwise CRC-32C and a generic protobuf wire-format decoder. ----

uint32_t bitwise_crc32c(const std::string& bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
  }
  return ~crc;
}

uint32_t bitwise_masked(const std::string& bytes) {
  const uint32_t crc = bitwise_crc32c(bytes);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

uint64_t little_endian(const std::string& bytes, size_t at, int width) {
  uint64_t v = 0;
  for (int i = width - 1; i >= 0; --i) v = (v << 8) | uint8_t(bytes.at(at + size_t(i)));
  return v;
}

struct Field {
  int number = 0;
  int wire_type = 0;
  uint64_t scalar = 0;  // varint, fixed64, fixed32
  std::string bytes;    // length-delimited
};

std::vector<Field> decode_message(const std::string& message) {
  std::vector<Field> fields;
  size_t at = 0;
  auto varint = [&] {
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = uint8_t(message.at(at++));
      v |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < message.size()) {
    Field f;
    const uint64_t key = varint();
    f.number = int(key >> 3);
    f.wire_type = int(key & 7);
    if (f.wire_type == 0) {
      f.scalar = varint();
    } else if (f.wire_type == 1) {
      f.scalar = little_endian(message, at, 8);
      at += 8;
    } else if (f.wire_type == 5) {
      f.scalar = little_endian(message, at, 4);
      at += 4;
    } else if (f.wire_type == 2) {
      const size_t length = size_t(varint());
      f.bytes = message.substr(at, length);
      EXPECT_EQ(f.bytes.size(), length) << "truncated field";
      at += length;
    } else {
      ADD_FAILURE() << "unexpected wire type " << f.wire_type;
      break;
    }
    fields.push_back(f);
  }
  return fields;
}

struct Scalar {
  std::string tag;
  float value = 0;
};

struct Event {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::vector<Scalar> scalars;
};

Event decode_event(const std::string& payload) {
  Event event;
  for (const Field& f : decode_message(payload)) {
    if (f.number == 1 && f.wire_type == 1) {
      std::memcpy(&event.wall_time, &f.scalar, 8);
    } else if (f.number == 2 && f.wire_type == 0) {
      event.step = int64_t(f.scalar);
    } else if (f.number == 3 && f.wire_type == 2) {
      event.file_version = f.bytes;
    } else if (f.number == 5 && f.wire_type == 2) {
      for (const Field& value : decode_message(f.bytes)) {
        EXPECT_EQ(value.number, 1);
        Scalar scalar;
        for (const Field& v : decode_message(value.bytes)) {
          if (v.number == 1 && v.wire_type == 2) scalar.tag = v.bytes;
          if (v.number == 2 && v.wire_type == 5) {
            const uint32_t bits = uint32_t(v.scalar);
            std::memcpy(&scalar.value, &bits, 4);
          }
        }
        event.scalars.push_back(scalar);
      }
    } else {
      ADD_FAILURE() << "unexpected Event field " << f.number;
    }
  }
  return event;
}

struct ReadResult {
  std::vector<Event> events;
  std::optional<std::string> error;  // the first framing or checksum problem
};

ReadResult read_event_file(const std::string& data) {
  ReadResult result;
  size_t at = 0;
  while (at < data.size()) {
    if (data.size() - at < 12) return result.error = "truncated header", result;
    const std::string header = data.substr(at, 8);
    const uint64_t length = little_endian(data, at, 8);
    if (uint32_t(little_endian(data, at + 8, 4)) != bitwise_masked(header))
      return result.error = "length crc mismatch at " + std::to_string(at), result;
    if (data.size() - at - 12 < length + 4) return result.error = "truncated payload", result;
    const std::string payload = data.substr(at + 12, size_t(length));
    if (uint32_t(little_endian(data, at + 12 + length, 4)) != bitwise_masked(payload))
      return result.error = "payload crc mismatch at " + std::to_string(at), result;
    result.events.push_back(decode_event(payload));
    at += 12 + size_t(length) + 4;
  }
  return result;
}

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

TEST(TensorBoard, ScalarEventEncodesToTheExpectedProtobufBytes) {
  // Event{wall_time=1.0 (09 + LE double), step=2 (10 02), summary (2a 0a) {value (0a 08)
  //   {tag "a" (0a 01 61), simple_value 1.0f (15 + LE float)}}}
  const std::string expected(
      "\x09\x00\x00\x00\x00\x00\x00\xF0\x3F\x10\x02\x2A\x0A\x0A\x08"
      "\x0A\x01\x61\x15\x00\x00\x80\x3F",
      23);
  EXPECT_EQ(encode_scalar_event(1.0, 2, "a", 1.0f), expected);
}

TEST(TensorBoard, IndependentReaderVerifiesEveryRecordAndValue) {
  ScratchDir dir("tensorboard");
  const double before = now_seconds();
  fs::path path;
  const std::string long_tag(300, 'x');  // a two-byte length varint
  {
    TensorBoardWriter writer(dir / "tb");
    path = writer.path();
    writer.add_scalar("train/loss", 0.6931f, 1, 1000.25);
    writer.add_scalar("val/ndcg@10", 0.125f, 1, 1000.5);
    writer.add_scalar("lr", 1e-4f, int64_t(1) << 40, 1000.75);
    writer.add_scalar("signed", -3.5f, -3, 1001.0);
    writer.add_scalar(long_tag, 7.0f, 12);  // wall time = now
    writer.flush();
  }
  const double after = now_seconds();
  const std::string name = path.filename().string();
  EXPECT_EQ(path.parent_path(), dir / "tb");
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_NE(name.find("." + std::to_string(getpid()) + ".pixelrec"), std::string::npos) << name;

  const ReadResult read = read_event_file(read_text(path));
  ASSERT_FALSE(read.error) << *read.error;
  ASSERT_EQ(read.events.size(), 6u);
  EXPECT_EQ(read.events[0].file_version, "brain.Event:2");
  EXPECT_GE(read.events[0].wall_time, before - 1);
  EXPECT_LE(read.events[0].wall_time, after + 1);
  EXPECT_TRUE(read.events[0].scalars.empty());

  struct Expected {
    std::string tag;
    float value;
    int64_t step;
    double wall_time;
  };
  const std::vector<Expected> expected = {{"train/loss", 0.6931f, 1, 1000.25},
                                          {"val/ndcg@10", 0.125f, 1, 1000.5},
                                          {"lr", 1e-4f, int64_t(1) << 40, 1000.75},
                                          {"signed", -3.5f, -3, 1001.0}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const Event& e = read.events[i + 1];
    ASSERT_EQ(e.scalars.size(), 1u);
    EXPECT_EQ(e.scalars[0].tag, expected[i].tag);
    EXPECT_EQ(e.scalars[0].value, expected[i].value);
    EXPECT_EQ(e.step, expected[i].step);
    EXPECT_EQ(e.wall_time, expected[i].wall_time);
    EXPECT_TRUE(e.file_version.empty());
  }
  const Event& last = read.events[5];
  EXPECT_EQ(last.scalars[0].tag, long_tag);
  EXPECT_EQ(last.scalars[0].value, 7.0f);
  EXPECT_EQ(last.step, 12);
  EXPECT_GE(last.wall_time, before - 1);
  EXPECT_LE(last.wall_time, after + 1);
}

TEST(TensorBoard, ACorruptedByteIsDetected) {
  ScratchDir dir("tensorboard_corrupt");
  fs::path path;
  {
    TensorBoardWriter writer(dir.path());
    path = writer.path();
    writer.add_scalar("loss", 0.5f, 3, 10.0);
  }
  const std::string good = read_text(path);
  ASSERT_FALSE(read_event_file(good).error);
  const size_t first_record = 12 + size_t(little_endian(good, 0, 8)) + 4;
  std::string payload_flip = good;
  payload_flip[first_record + 14] ^= 0x01;  // inside the second record's payload
  EXPECT_NE(read_event_file(payload_flip).error.value_or("").find("payload crc mismatch"),
            std::string::npos);
  std::string length_flip = good;
  length_flip[first_record + 1] ^= 0x40;  // the second record's length
  EXPECT_NE(read_event_file(length_flip).error.value_or("").find("length crc mismatch"),
            std::string::npos);
}

TEST(TensorBoard, WritersStartedTogetherGetSeparateFiles) {
  ScratchDir dir("tensorboard_two");
  TensorBoardWriter a(dir.path());
  TensorBoardWriter b(dir.path());
  EXPECT_NE(a.path(), b.path());
  a.add_scalar("x", 1.0f, 0, 1.0);
  b.add_scalar("x", 2.0f, 0, 1.0);
  a.flush();
  b.flush();
  EXPECT_EQ(read_event_file(read_text(a.path())).events.at(1).scalars.at(0).value, 1.0f);
  EXPECT_EQ(read_event_file(read_text(b.path())).events.at(1).scalars.at(0).value, 2.0f);
}

TEST(TensorBoard, MovedWriterKeepsWritingToTheSameFile) {
  ScratchDir dir("tensorboard_move");
  TensorBoardWriter first(dir.path());
  const fs::path path = first.path();
  first.add_scalar("before", 1.0f, 0, 1.0);
  TensorBoardWriter second(std::move(first));
  second.add_scalar("after", 2.0f, 1, 2.0);
  second.flush();
  const ReadResult read = read_event_file(read_text(path));
  ASSERT_FALSE(read.error);
  ASSERT_EQ(read.events.size(), 3u);
  EXPECT_EQ(read.events[1].scalars.at(0).tag, "before");
  EXPECT_EQ(read.events[2].scalars.at(0).tag, "after");
}

TEST(TensorBoard, UncreatableDirectoryIsAnErrorNamingIt) {
  ScratchDir dir("tensorboard_bad");
  test::write_text(dir / "file", "not a directory");
  try {
    TensorBoardWriter writer(dir / "file" / "tb");
    FAIL() << "created an event file under a regular file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("file"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pixelrec::train
