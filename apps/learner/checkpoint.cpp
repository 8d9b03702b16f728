// See checkpoint.h. Writing is a direct listing of the state; reading checks every piece against
// the model and the optimiser before apply_checkpoint changes anything.
#include "apps/learner/checkpoint.h"

#include <cmath>
#include <limits>
#include <map>
#include <unordered_map>

#include "apps/common/results.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/views.h"
#include "tensor/creation.h"
#include "tensor/io/json.h"
#include "tensor/io/safetensors.h"
#include "vision/sha256.h"

namespace ember::app {

namespace {

constexpr const char* kFormat = "ember-learner-checkpoint/1";

std::string optimizer_key(const std::string& param, const char* field) { return "optimizer/" + param + "/" + field; }

// ---- writing -------------------------------------------------------------------------------------

JsonObject row_json(const EpochRow& row) {
  return JsonObject()
      .set("epoch", row.epoch)
      .set("train_loss", row.train_loss)  // NaN is written as null
      .set("valid_loss", row.valid_loss)
      .set("accuracy", row.accuracy)
      .set("seconds", row.seconds);
}

JsonObject fit_json(const FitRecord& fit) {
  std::vector<JsonObject> rows;
  for (const EpochRow& row : fit.rows) rows.push_back(row_json(row));
  const nn::OneCycleOptions& o = fit.options;
  return JsonObject()
      .set("n_epoch", fit.n_epoch)
      .set("lr_max", fit.lr_max)
      .set("div", o.div)
      .set("div_final", o.div_final)
      .set("pct_start", o.pct_start)
      .set("moms", std::vector<double>(o.moms.begin(), o.moms.end()))
      .set("frozen_groups", fit.frozen_groups)
      .set("rows", rows);
}

// SHA-256 over every tensor in name order (its name, dtype, shape and bytes): safetensors has no
// checksum of its own, and a flipped bit in the weights would otherwise load silently.
std::string tensors_digest(const std::map<std::string, Tensor>& tensors) {
  vision::Sha256 hash;
  for (const auto& [name, t] : tensors) {
    const Tensor c = contiguous(to_cpu(t));
    hash.update(name + '\0' + dtype_name(c.dtype()) + c.shape().str() + '\0');
    hash.update(std::string_view(static_cast<const char*>(c.raw_data()), size_t(c.numel()) * dtype_size(c.dtype())));
  }
  return hash.hex_digest();
}

std::string categories_json(const std::vector<std::string>& categories) {
  std::string out = "[";
  for (size_t i = 0; i < categories.size(); ++i) out += (i ? ", " : "") + json::quote(categories[i]);
  return out + "]";
}

// ---- reading: small checked accessors over the parsed JSON ---------------------------------------

struct Reader {
  std::string source;  // "checkpoint 'path'"
  [[noreturn]] void fail(const std::string& what) const { throw Error(source + ": " + what); }

  const json::Value& member(const json::Value& object, const char* key, const std::string& where) const {
    const json::Value* value = object.find(key);
    if (value == nullptr) fail(where + " has no \"" + key + "\"");
    return *value;
  }
  int64_t integer(const json::Value& object, const char* key, const std::string& where) const {
    const json::Value& v = member(object, key, where);
    if (!v.is_integer()) fail(where + " \"" + key + "\" is not an integer");
    return v.as_int();
  }
  double number(const json::Value& object, const char* key, const std::string& where) const {
    const json::Value& v = member(object, key, where);
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();  // how NaN was written
    if (!v.is_number()) fail(where + " \"" + key + "\" is not a number");
    return v.as_double();
  }
  std::vector<double> numbers(const json::Value& object, const char* key, const std::string& where) const {
    const json::Value& v = member(object, key, where);
    if (!v.is_array()) fail(where + " \"" + key + "\" is not a list");
    std::vector<double> out;
    for (const json::Value& item : v.as_array()) {
      if (!item.is_number()) fail(where + " \"" + key + "\" holds something that is not a number");
      out.push_back(item.as_double());
    }
    return out;
  }
  const json::Value::Array& array(const json::Value& object, const char* key, const std::string& where) const {
    const json::Value& v = member(object, key, where);
    if (!v.is_array()) fail(where + " \"" + key + "\" is not a list");
    return v.as_array();
  }
  const std::string& metadata(const SafetensorsFile& file, const char* key) const {
    auto it = file.metadata.find(key);
    if (it == file.metadata.end()) fail("no \"" + std::string(key) + "\" in its metadata");
    return it->second;
  }
  json::Value parse(const std::string& text, const char* what) const {
    try {
      return json::parse(text);
    } catch (const Error& e) {
      fail(std::string("metadata \"") + what + "\" is not valid JSON: " + e.what());
    }
  }
};

FitRecord read_fit(const Reader& r, const json::Value& v, const std::string& where) {
  FitRecord fit;
  fit.n_epoch = r.integer(v, "n_epoch", where);
  fit.lr_max = r.numbers(v, "lr_max", where);
  fit.options.div = r.number(v, "div", where);
  fit.options.div_final = r.number(v, "div_final", where);
  fit.options.pct_start = r.number(v, "pct_start", where);
  const std::vector<double> moms = r.numbers(v, "moms", where);
  if (moms.size() != 3) r.fail(where + " \"moms\" does not hold 3 numbers");
  fit.options.moms = {moms[0], moms[1], moms[2]};
  fit.frozen_groups = r.integer(v, "frozen_groups", where);
  for (const json::Value& row : r.array(v, "rows", where)) {
    const std::string row_where = where + " row " + std::to_string(fit.rows.size());
    fit.rows.push_back({.epoch = r.integer(row, "epoch", row_where),
                        .train_loss = r.number(row, "train_loss", row_where),
                        .valid_loss = r.number(row, "valid_loss", row_where),
                        .accuracy = r.number(row, "accuracy", row_where),
                        .seconds = r.number(row, "seconds", row_where)});
  }
  return fit;
}

uint64_t parse_u64(const Reader& r, const std::string& text, const char* what) {
  size_t used = 0;
  uint64_t value = 0;
  try {
    value = std::stoull(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) r.fail(std::string(what) + " is not an unsigned integer: '" + text + "'");
  return value;
}

TrainingState read_state(const Reader& r, const SafetensorsFile& file) {
  TrainingState s;
  if (auto it = file.metadata.find("architecture"); it != file.metadata.end()) s.architecture = it->second;
  if (auto it = file.metadata.find("categories"); it != file.metadata.end()) {
    const json::Value list = r.parse(it->second, "categories");
    if (!list.is_array()) r.fail("metadata \"categories\" is not a JSON list of strings");
    for (const json::Value& item : list.as_array()) {
      if (!item.is_string()) r.fail("metadata \"categories\" holds something that is not a string");
      s.categories.push_back(item.as_string());
    }
  }
  if (auto it = file.metadata.find("image_size"); it != file.metadata.end())
    s.image_size = int64_t(parse_u64(r, it->second, "metadata \"image_size\""));
  const json::Value training = r.parse(r.metadata(file, "training"), "training");
  const std::string where = "metadata \"training\"";
  s.fit = r.integer(training, "fit", where);
  s.epoch = r.integer(training, "epoch", where);
  s.loader_epoch = r.integer(training, "loader_epoch", where);
  s.frozen_groups = r.integer(training, "frozen_groups", where);
  s.smooth_loss_raw = r.number(training, "smooth_loss_raw", where);
  s.smooth_loss_count = r.integer(training, "smooth_loss_count", where);
  const json::Value& seed = r.member(training, "rng_seed", where);
  const json::Value& offset = r.member(training, "rng_offset", where);
  if (!seed.is_string() || !offset.is_string()) r.fail(where + " rng_seed/rng_offset are not strings");
  s.rng_seed = parse_u64(r, seed.as_string(), "rng_seed");
  s.rng_offset = parse_u64(r, offset.as_string(), "rng_offset");
  for (const json::Value& fit : r.array(training, "fits", where))
    s.fits.push_back(read_fit(r, fit, where + " fit " + std::to_string(s.fits.size())));
  if (s.fit < 0 || s.fit >= int64_t(s.fits.size()))
    r.fail(where + " names fit " + std::to_string(s.fit) + " but lists " + std::to_string(s.fits.size()) + " fits");
  const FitRecord& current = s.fits[size_t(s.fit)];
  if (s.epoch < 0 || s.epoch >= current.n_epoch || int64_t(current.rows.size()) != s.epoch + 1)
    r.fail(where + ": epoch " + std::to_string(s.epoch) + " does not fit fit " + std::to_string(s.fit) + " (" +
           std::to_string(current.n_epoch) + " epochs, " + std::to_string(current.rows.size()) + " rows)");
  return s;
}

}  // namespace

std::vector<std::vector<std::string>> optimizer_param_names(const nn::Module& model, const nn::Optimizer& optimizer) {
  std::unordered_map<const TensorImpl*, std::string> names;
  for (const auto& [name, p] : model.named_parameters()) names.emplace(p.impl(), name);
  std::vector<std::vector<std::string>> out;
  for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    out.emplace_back();
    const std::vector<Tensor>& params = optimizer.param_groups()[g].params;
    for (size_t i = 0; i < params.size(); ++i) {
      auto it = names.find(params[i].impl());
      EMBER_CHECK(it != names.end(), "param " + std::to_string(i) + " of param group " + std::to_string(g) + " (" +
                                         params[i].shape().str() + ") is not a parameter of the model");
      out.back().push_back(it->second);
    }
  }
  return out;
}

void write_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer& optimizer,
                      const TrainingState& state) {
  std::map<std::string, Tensor> tensors;
  for (const auto& [name, t] : model.state_dict()) tensors[name] = to_cpu(t);

  const std::vector<std::vector<std::string>> names = optimizer_param_names(model, optimizer);
  auto& opt = const_cast<nn::Optimizer&>(optimizer);  // state() has no const overload; nothing is changed
  std::vector<JsonObject> groups;
  for (size_t g = 0; g < names.size(); ++g) {
    const nn::ParamGroup& group = optimizer.param_groups()[g];
    for (size_t i = 0; i < names[g].size(); ++i) {
      const nn::ParamState& s = opt.state(group.params[i]);
      if (s.exp_avg.defined()) {
        tensors[optimizer_key(names[g][i], "exp_avg")] = to_cpu(s.exp_avg);
        tensors[optimizer_key(names[g][i], "exp_avg_sq")] = to_cpu(s.exp_avg_sq);
      }
      tensors[optimizer_key(names[g][i], "step")] = from_vector(std::vector<int64_t>{s.step}, Shape{});
      tensors[optimizer_key(names[g][i], "do_weight_decay")] =
          from_vector(std::vector<uint8_t>{uint8_t(s.do_weight_decay ? 1 : 0)}, Shape{});
    }
    groups.push_back(JsonObject()
                         .set("lr", group.lr)
                         .set("mom", group.momentum)
                         .set("sqr_mom", group.beta2)
                         .set("eps", group.eps)
                         .set("wd", group.weight_decay)
                         .set("params", names[g]));
  }

  std::vector<JsonObject> fits;
  for (const FitRecord& fit : state.fits) fits.push_back(fit_json(fit));
  JsonObject training;
  training.set("fit", state.fit)
      .set("epoch", state.epoch)
      .set("loader_epoch", state.loader_epoch)
      .set("frozen_groups", state.frozen_groups)
      .set("smooth_loss_raw", state.smooth_loss_raw)
      .set("smooth_loss_count", state.smooth_loss_count)
      .set("rng_seed", std::to_string(state.rng_seed))  // strings: a uint64 may not fit a JSON int64
      .set("rng_offset", std::to_string(state.rng_offset))
      .set("fits", fits);

  std::map<std::string, std::string> metadata{
      {"format", kFormat},
      {"fit", std::to_string(state.fit)},
      {"epoch", std::to_string(state.epoch)},
      {"phase", state.frozen_groups > 0 ? "frozen" : "unfrozen"},
      {"training", training.str()},
      {"optimizer", JsonObject().set("name", optimizer.name()).set("groups", groups).str()},
      {"tensors_sha256", tensors_digest(tensors)}};
  if (!state.architecture.empty()) metadata["architecture"] = state.architecture;
  if (!state.categories.empty()) metadata["categories"] = categories_json(state.categories);
  if (state.image_size > 0) metadata["image_size"] = std::to_string(state.image_size);
  try {
    save_safetensors(path, tensors, metadata);
  } catch (const Error& e) {
    throw Error("could not save the checkpoint '" + path + "' (the previous one, if any, is unchanged): " + e.what());
  }
}

Checkpoint read_checkpoint(const std::string& path, const nn::Module& model, const nn::Optimizer& optimizer) {
  const Reader r{"checkpoint '" + path + "'"};
  SafetensorsFile file;
  try {
    file = load_safetensors(path);
  } catch (const Error& e) {
    r.fail(std::string("cannot be read: ") + e.what());
  }
  auto format = file.metadata.find("format");
  if (format == file.metadata.end() || format->second != kFormat)
    r.fail("is not an Ember Learner checkpoint (metadata \"format\" is " +
           (format == file.metadata.end() ? std::string("missing") : "'" + format->second + "'") + ", expected '" +
           kFormat + "')");

  if (r.metadata(file, "tensors_sha256") != tensors_digest(file.tensors))
    r.fail("is corrupted: its tensors do not match the SHA-256 in its metadata (\"tensors_sha256\")");

  Checkpoint c;
  c.path = path;
  c.state = read_state(r, file);

  // The model: every state_dict key, with its shape and dtype; nothing else but optimizer/ keys.
  std::vector<std::string> problems;
  size_t model_keys = 0;
  for (const auto& [name, own] : model.state_dict()) {
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) {
      problems.push_back("missing \"" + name + "\"");
      continue;
    }
    ++model_keys;
    if (it->second.shape() != own.shape() || it->second.dtype() != own.dtype())
      problems.push_back("\"" + name + "\" is " + dtype_name(it->second.dtype()) + " " + it->second.shape().str() +
                         ", the model's is " + dtype_name(own.dtype()) + " " + own.shape().str());
    c.model.emplace_back(name, it->second);
  }
  size_t optimizer_keys = 0;
  for (const auto& [name, t] : file.tensors) optimizer_keys += name.rfind("optimizer/", 0) == 0 ? 1 : 0;
  if (model_keys + optimizer_keys != file.tensors.size())
    problems.push_back(std::to_string(file.tensors.size() - model_keys - optimizer_keys) +
                       " tensors that are not in the model");
  if (!problems.empty()) {
    std::string list;
    for (size_t i = 0; i < problems.size() && i < 5; ++i) list += (i ? "; " : "") + problems[i];
    if (problems.size() > 5) list += "; and " + std::to_string(problems.size() - 5) + " more";
    r.fail("does not match the model (" + std::to_string(problems.size()) + " differences): " + list);
  }

  // The optimiser: the same groups of the same params with the same fixed hyper-parameters.
  const json::Value opt = r.parse(r.metadata(file, "optimizer"), "optimizer");
  const std::vector<std::vector<std::string>> names = optimizer_param_names(model, optimizer);
  const json::Value::Array& groups = r.array(opt, "groups", "metadata \"optimizer\"");
  if (groups.size() != names.size())
    r.fail("has " + std::to_string(groups.size()) + " param groups, the optimiser has " + std::to_string(names.size()));
  for (size_t g = 0; g < names.size(); ++g) {
    const std::string where = "param group " + std::to_string(g);
    const nn::ParamGroup& own = optimizer.param_groups()[g];
    const json::Value::Array& listed = r.array(groups[g], "params", where);
    std::vector<std::string> saved;
    for (const json::Value& name : listed) saved.push_back(name.is_string() ? name.as_string() : "?");
    if (saved != names[g])
      r.fail(where + " holds other params than the optimiser's (" + std::to_string(saved.size()) + " vs " +
             std::to_string(names[g].size()) + (saved.empty() ? "" : ", first '" + saved.front() + "'") + ")");
    auto same = [&](const char* key, double mine) {
      const double theirs = r.number(groups[g], key, where);
      if (theirs != mine)
        r.fail(where + " was saved with " + key + " = " + json_number(theirs) + ", this optimiser has " +
               json_number(mine));
    };
    same("sqr_mom", own.beta2), same("eps", own.eps), same("wd", own.weight_decay);
    c.hypers.emplace_back(r.number(groups[g], "lr", where), r.number(groups[g], "mom", where));

    c.params.emplace_back();
    for (size_t i = 0; i < names[g].size(); ++i) {
      const Tensor& p = own.params[i];
      auto find = [&](const char* field) {
        auto it = file.tensors.find(optimizer_key(names[g][i], field));
        return it == file.tensors.end() ? Tensor() : it->second;
      };
      ParamRecord record;
      const Tensor step = find("step"), wd = find("do_weight_decay");
      if (!step.defined() || step.dtype() != DType::Int64 || step.numel() != 1 || !wd.defined() ||
          wd.dtype() != DType::UInt8 || wd.numel() != 1)
        r.fail("the optimiser state of '" + names[g][i] + "' lacks its int64 step or uint8 do_weight_decay");
      record.step = step.item<int64_t>();
      record.do_weight_decay = wd.item<uint8_t>() != 0;
      record.exp_avg = find("exp_avg"), record.exp_avg_sq = find("exp_avg_sq");
      for (const Tensor* buffer : {&record.exp_avg, &record.exp_avg_sq})
        if (buffer->defined() && (buffer->shape() != p.shape() || buffer->dtype() != p.dtype()))
          r.fail("the optimiser state of '" + names[g][i] + "' has shape " + buffer->shape().str() +
                 ", the param has " + p.shape().str());
      if (record.exp_avg.defined() != record.exp_avg_sq.defined() || (record.step > 0) != record.exp_avg.defined())
        r.fail("the optimiser state of '" + names[g][i] + "' is incomplete (step " + std::to_string(record.step) +
               " with" + (record.exp_avg.defined() ? "" : "out") + " exp_avg)");
      c.params.back().push_back(record);
    }
  }
  return c;
}

void apply_checkpoint(const Checkpoint& checkpoint, nn::Module& model, nn::Optimizer& optimizer) {
  model.load_state_dict(checkpoint.model);  // checked by read_checkpoint: it cannot fail half-way
  for (size_t g = 0; g < checkpoint.params.size(); ++g) {
    nn::ParamGroup& group = optimizer.param_groups()[g];
    group.lr = checkpoint.hypers[g].first;
    group.momentum = checkpoint.hypers[g].second;
    for (size_t i = 0; i < checkpoint.params[g].size(); ++i) {
      const ParamRecord& record = checkpoint.params[g][i];
      const Tensor& p = group.params[i];
      nn::ParamState& state = optimizer.state(p);
      state.step = record.step;
      state.do_weight_decay = record.do_weight_decay;
      // Own copies on the param's device (the optimiser updates its buffers in place).
      auto copy_to_param = [&](const Tensor& t) { return t.defined() ? clone(to(t, p.device())) : Tensor(); };
      state.exp_avg = copy_to_param(record.exp_avg);
      state.exp_avg_sq = copy_to_param(record.exp_avg_sq);
    }
  }
}

}  // namespace ember::app
