using Xunit;

// Fuzz loops are CPU-bound and measure each input's allocation and time: run one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
