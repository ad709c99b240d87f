// The built-in text extractor (SPEC §5, `model.language_model: builtin`): word unigrams and
// bigrams of title + tag + description, hashed with signs into 2^bits buckets, sublinear TF × IDF
// (fitted on training items), sparse random projection to a dense L2-normalised vector.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "features/extractor.h"

namespace pixelrec::features {

// The words of one text field: lowercased ASCII letters and digits plus any UTF-8 multibyte
// sequence form words; every other ASCII byte separates them. Exposed for tests.
std::vector<std::string> builtin_text_words(std::string_view text);

std::unique_ptr<FeatureExtractor> make_builtin_text_extractor(const FeaturesConfig& config);

}  // namespace pixelrec::features
