// Tables on disk: a versioned little-endian binary format for the stage
// cache (columns as contiguous buffers, so a read is a few large copies).
//
//   "PIPETBL1" | u64 rows | u32 columns | u8 has_roles [roles: rows bytes]
//   | u32 meta count, (str key, str value)* | column*
//   column: str name | u8 dtype | vec<u8> valid | vec<f64|i64|i32 codes>
//           | vec<i64> offsets | u32 dictionary size, str*
//   str: u64 length + bytes; vec<T>: u64 count + count*sizeof(T) bytes
#pragma once

#include <pipectl/export.hpp>
#include <pipectl/table.hpp>

#include <filesystem>

namespace pipectl {

/// Write atomically (temp file + rename).
PIPECTL_API void write_table(const Table& t, const std::filesystem::path& file);
/// Throws pipectl::Error on a missing, truncated or foreign file.
PIPECTL_API Table read_table(const std::filesystem::path& file);

}  // namespace pipectl
