// Tables on disk: a versioned little-endian binary format for the stage
// cache (columns as contiguous buffers, so a read is a few large copies).
//
//   "PIPETBL2" | u64 rows | u32 columns | u8 has_roles [roles: rows bytes]
//   | u32 meta count, (str key, str value)* | column*
//   column: str name | u8 dtype | vec<u8> valid | vec<f64|i64|i32 codes>
//           | vec<i64> offsets | u32 dictionary size, str*
//   str: u64 length + bytes; vec<T>: u64 count + count*sizeof(T) bytes
//   | u64 XXH3-64 of every byte before it (checked before the table is read)
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/table.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace pipectl {

/// Write atomically (temp file + rename).
PIPECTL_API void write_table(const Table& t, const std::filesystem::path& file);
/// Throws pipectl::Error on a missing, truncated, damaged (checksum) or foreign file.
PIPECTL_API Table read_table(const std::filesystem::path& file);
/// XXH3-64 of the first `limit` bytes of a file (all of it by default).
PIPECTL_API std::uint64_t file_checksum(const std::filesystem::path& file, std::uint64_t limit = ~std::uint64_t{0});
/// 16 lower-case hex digits.
PIPECTL_API std::string checksum_hex(std::uint64_t v);

}  // namespace pipectl
