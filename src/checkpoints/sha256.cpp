#include "checkpoints/sha256.h"

#include <openssl/evp.h>

#include "core/errors.h"

namespace pixelrec::checkpoints {

struct Sha256::Context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~Context() { EVP_MD_CTX_free(ctx); }
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  if (context_->ctx == nullptr || EVP_DigestInit_ex(context_->ctx, EVP_sha256(), nullptr) != 1)
    throw Error("OpenSSL could not start a SHA-256 digest");
}

Sha256::~Sha256() = default;

Sha256& Sha256::update(const void* data, size_t size) {
  if (finished_) throw Error("Sha256::update after finish");
  if (size > 0 && EVP_DigestUpdate(context_->ctx, data, size) != 1)
    throw Error("OpenSSL's SHA-256 update failed");
  return *this;
}

std::array<uint8_t, 32> Sha256::finish() {
  if (finished_) throw Error("Sha256::finish called twice");
  finished_ = true;
  std::array<uint8_t, 32> digest{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(context_->ctx, digest.data(), &length) != 1 || length != digest.size())
    throw Error("OpenSSL's SHA-256 finish failed");
  return digest;
}

std::string Sha256::hex_digest() {
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(64);
  for (uint8_t byte : finish()) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

std::string sha256_hex(std::string_view bytes) { return Sha256().update(bytes).hex_digest(); }

}  // namespace pixelrec::checkpoints
