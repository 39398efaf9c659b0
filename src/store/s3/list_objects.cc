// ListObjectsV2: one page of keys and common prefixes, held to the ObjectStore contract
// (ascending byte order, at most max_keys entries) even on servers that stray from it.
#include <pugixml.hpp>

#include <algorithm>

#include "store/s3/crypto.h"
#include "store/s3/errors.h"
#include "store/s3/operations.h"

namespace lakepack::s3 {

namespace {

// Our own continuation tokens: "lp1:" and the hex of the last entry returned, resumed with
// start-after. Used only when a server returns more than max-keys entries (s3rver does not
// count common prefixes), so that its own token, which points past all of them, cannot be.
constexpr std::string_view kOwnTokenPrefix = "lp1:";

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int v = 0;
    for (char c : hex.substr(i, 2)) {
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                                                          : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out += static_cast<char>(v);
  }
  return out;
}

}  // namespace

std::string StartAfterToken(const std::string& key) {
  return std::string(kOwnTokenPrefix) + HexEncode(key);
}

Result<ListPage> ListObjectsV2(S3Client& client, const std::string& bucket,
                               const ListOptions& options) {
  S3Request req;
  req.kind = RequestKind::kList;
  req.method = "GET";
  req.bucket = bucket;
  int max_keys = options.max_keys <= 0 ? kMaxListKeys : std::min(options.max_keys, kMaxListKeys);
  req.query = {
      {"list-type", "2"}, {"encoding-type", "url"}, {"max-keys", std::to_string(max_keys)}};
  if (!options.prefix.empty()) req.query.emplace_back("prefix", options.prefix);
  if (!options.delimiter.empty()) req.query.emplace_back("delimiter", options.delimiter);
  std::optional<std::string> start_after;
  if (options.continuation_token.rfind(kOwnTokenPrefix, 0) == 0) {
    start_after =
        HexDecode(std::string_view(options.continuation_token).substr(kOwnTokenPrefix.size()));
    if (!start_after) {
      return Status::InvalidArgument(S3Client::UriOf(bucket, options.prefix) +
                                     ": malformed continuation token '" +
                                     options.continuation_token + "'");
    }
    req.query.emplace_back("start-after", *start_after);
  } else if (!options.continuation_token.empty()) {
    req.query.emplace_back("continuation-token", options.continuation_token);
  }
  LP_ASSIGN_OR_RETURN(HttpResponse resp, client.Execute(req));

  const std::string where =
      S3Client::UriOf(bucket, options.prefix) + ": LIST answer from " + client.EndpointFor(bucket);
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(resp.body.data(), resp.body.size());
  if (!parsed) {
    return Status::Corruption(where + " is not valid XML (" + parsed.description() + ")");
  }
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return Status::Corruption(where + " holds no ListBucketResult");
  // Decode only when the server says it encoded: one that ignores encoding-type sends keys
  // raw, and decoding those would turn a literal "%20" or "+" into a space.
  const bool encoded = std::string_view(root.child_value("EncodingType")) == "url";
  auto decode = [&](const char* s) { return encoded ? UriDecode(s, true) : std::string(s); };

  ListPage page;
  for (pugi::xml_node c = root.child("Contents"); c; c = c.next_sibling("Contents")) {
    ObjectInfo info;
    info.key = decode(c.child_value("Key"));
    info.size = std::strtoll(c.child_value("Size"), nullptr, 10);
    info.etag = StripQuotes(c.child_value("ETag"));
    info.mtime_ns = ParseIso8601Ns(c.child_value("LastModified"));
    page.objects.push_back(std::move(info));
  }
  for (pugi::xml_node p = root.child("CommonPrefixes"); p; p = p.next_sibling("CommonPrefixes")) {
    page.common_prefixes.push_back(decode(p.child_value("Prefix")));
  }
  const bool truncated = std::string_view(root.child_value("IsTruncated")) == "true";
  std::string server_token = root.child_value("NextContinuationToken");
  if (truncated && server_token.empty()) {
    return Status::Corruption(where + " says the listing goes on but gives no continuation token");
  }

  if (start_after) {
    // Resuming after a common prefix P: keys below P roll up into P again, which was
    // already returned.
    const std::string& after = *start_after;
    const bool after_prefix = !options.delimiter.empty() &&
                              after.size() >= options.delimiter.size() &&
                              after.compare(after.size() - options.delimiter.size(),
                                            options.delimiter.size(), options.delimiter) == 0;
    std::erase_if(page.objects, [&](const ObjectInfo& o) {
      return o.key <= after || (after_prefix && o.key.rfind(after, 0) == 0);
    });
    std::erase_if(page.common_prefixes, [&](const std::string& p) { return p <= after; });
  }
  // S3 answers in byte order; servers that walk a file tree (s3rver) answer "a/b" before "a-c".
  std::sort(page.objects.begin(), page.objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  std::sort(page.common_prefixes.begin(), page.common_prefixes.end());

  if (page.objects.size() + page.common_prefixes.size() > static_cast<size_t>(max_keys)) {
    // Keep the first max_keys entries of the merged order and resume after the last one.
    size_t o = 0, p = 0;
    std::string last;
    for (int taken = 0; taken < max_keys; ++taken) {
      const bool take_object =
          p >= page.common_prefixes.size() ||
          (o < page.objects.size() && page.objects[o].key < page.common_prefixes[p]);
      last = take_object ? page.objects[o++].key : page.common_prefixes[p++];
    }
    page.objects.resize(o);
    page.common_prefixes.resize(p);
    page.next_token = StartAfterToken(last);
  } else if (truncated) {
    page.next_token = server_token;
  }
  return page;
}

}  // namespace lakepack::s3
