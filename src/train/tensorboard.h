// TensorBoard event files written without protobuf or TensorFlow: scalar summaries encoded by
// hand as tensorflow.Event messages in TFRecord framing, readable by `tensorboard --logdir`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace pixelrec::train {

class TensorBoardWriter {
 public:
  // Creates `dir` and the file events.out.tfevents.<unix_seconds>.<hostname>.<pid>.pixelrec
  // (".<n>.pixelrec" when that name is taken), whose first event carries file_version
  // "brain.Event:2". Throws Error naming the path when it cannot be created.
  explicit TensorBoardWriter(const std::filesystem::path& dir);
  ~TensorBoardWriter();  // flushes (errors are only logged there)
  TensorBoardWriter(TensorBoardWriter&& other) noexcept;
  TensorBoardWriter& operator=(TensorBoardWriter&& other) noexcept;
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void add_scalar(const std::string& tag, float value, int64_t step);  // wall_time = now
  void add_scalar(const std::string& tag, float value, int64_t step, double wall_time);
  // Writes buffered events to the file; throws Error naming the path when that fails.
  void flush();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_record(const std::string& payload);
  void close() noexcept;

  std::filesystem::path path_;
  int fd_ = -1;
  std::string buffer_;  // framed records not yet written
};

// The tensorflow.Event payloads, exposed for tests and tools.
std::string encode_file_version_event(double wall_time, const std::string& file_version);
std::string encode_scalar_event(double wall_time, int64_t step, const std::string& tag,
                                float value);

}  // namespace pixelrec::train
