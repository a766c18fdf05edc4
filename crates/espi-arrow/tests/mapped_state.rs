//! What a conversion keeps per meter reading gives the same tables whether
//! it is on the heap or, past the state memory budget, in the mapped
//! temporary file. (Its own test binary: the budget is the process's.)

use std::collections::BTreeMap;

use arrow_array::RecordBatch;
use espi_arrow::{
    convert_parallel, convert_sequential, set_state_memory_budget, state_memory_in_use,
    ConvertOptions, Table,
};
use espi_core::ParseOptions;

/// Every batch by table, and the most state seen in the mapped file while
/// they were made.
#[derive(Default)]
struct Collected {
    batches: BTreeMap<Table, Vec<RecordBatch>>,
    most_mapped: usize,
}

impl espi_arrow::BatchSink for Collected {
    fn batch(&mut self, table: Table, batch: RecordBatch) {
        self.most_mapped = self.most_mapped.max(state_memory_in_use().1);
        self.batches.entry(table).or_default().push(batch);
    }
    fn discard(&mut self) {
        self.batches.clear();
    }
}

/// Each table's rows as one batch, and the most state mapped.
fn convert(input: &[u8], parts: usize) -> (BTreeMap<Table, RecordBatch>, usize) {
    let options = ConvertOptions {
        batch_size: 4096,
        ..Default::default()
    };
    let parse = ParseOptions::default();
    let done = if parts == 1 {
        convert_sequential("feed.xml", input, &options, &parse, Collected::default())
    } else {
        convert_parallel("feed.xml", input, &options, &parse, parts, |_| {
            Collected::default()
        })
    };
    let mut by_table: BTreeMap<Table, Vec<RecordBatch>> = BTreeMap::new();
    let mut most_mapped = 0;
    for sink in done.sinks {
        most_mapped = most_mapped.max(sink.most_mapped);
        for (table, batches) in sink.batches {
            by_table.entry(table).or_default().extend(batches);
        }
    }
    let joined = by_table
        .into_iter()
        .filter(|(_, batches)| !batches.is_empty())
        .map(|(table, batches)| {
            let joined = arrow_select::concat::concat_batches(&batches[0].schema(), &batches);
            (table, joined.unwrap())
        })
        .collect();
    (joined, most_mapped)
}

fn generated(order: espi_gen::EntryOrder) -> Vec<u8> {
    let options = espi_gen::GenOptions {
        usage_points: 3_000,
        days: 1,
        corrections: 0.2,
        order,
        ..Default::default()
    };
    let mut xml = Vec::new();
    espi_gen::generate(&options, &mut xml).unwrap();
    xml
}

#[test]
fn state_in_the_mapped_file_gives_the_tables_of_state_on_the_heap() {
    let feeds = [
        generated(espi_gen::EntryOrder::ByUsagePoint),
        generated(espi_gen::EntryOrder::BlocksFirst),
    ];
    for (f, xml) in feeds.iter().enumerate() {
        for parts in [1, 3] {
            set_state_memory_budget(usize::MAX);
            let (on_heap, mapped) = convert(xml, parts);
            assert_eq!(mapped, 0, "feed {f}, {parts} parts: nothing mapped");
            set_state_memory_budget(0);
            let (in_file, mapped) = convert(xml, parts);
            // The file is used where its blocks can be reserved.
            if cfg!(target_os = "linux") {
                assert!(mapped > 0, "feed {f}, {parts} parts: state mapped");
            }
            assert_eq!(
                on_heap.keys().collect::<Vec<_>>(),
                in_file.keys().collect::<Vec<_>>()
            );
            for (table, batch) in &on_heap {
                assert!(batch.num_rows() > 0);
                assert_eq!(batch, &in_file[table], "feed {f}, {parts} parts, {table:?}");
            }
            // The file is emptied once no conversion keeps state in it.
            assert_eq!(state_memory_in_use().1, 0);
        }
    }
}
