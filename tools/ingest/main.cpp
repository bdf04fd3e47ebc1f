// pipectl-ingest: the ingest tool on its own (`pipectl-ingest pcap …` = `pipectl ingest pcap …`).
#include "ingest_cli.hpp"

#include <string>
#include <vector>

int main(int argc, char** argv) {
  return pipectl::ingest::cli_main(std::vector<std::string>(argv + 1, argv + argc));
}
