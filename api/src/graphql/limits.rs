//! Refuses hostile query shapes cheaply, right after parsing: too many aliases or field selections.
//! Depth, complexity, recursion and directives per field are limited by async-graphql itself (see `schema`).

use std::sync::Arc;

use async_graphql::{
    ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

use super::error::{codes, server_error};

pub struct QueryShapeLimits {
    pub max_aliases: usize,
    pub max_fields: usize,
}

impl ExtensionFactory for QueryShapeLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(QueryShapeLimitsExtension { max_aliases: self.max_aliases, max_fields: self.max_fields })
    }
}

struct QueryShapeLimitsExtension {
    max_aliases: usize,
    max_fields: usize,
}

#[derive(Default)]
struct Shape {
    fields: usize,
    aliases: usize,
}

fn measure(selection_set: &SelectionSet, shape: &mut Shape) {
    for selection in &selection_set.items {
        match &selection.node {
            Selection::Field(field) => {
                shape.fields += 1;
                if field.node.alias.is_some() {
                    shape.aliases += 1;
                }
                measure(&field.node.selection_set.node, shape);
            }
            Selection::InlineFragment(fragment) => measure(&fragment.node.selection_set.node, shape),
            // Named fragments are measured once, where they are defined.
            Selection::FragmentSpread(_) => shape.fields += 1,
        }
    }
}

#[async_trait::async_trait]
impl Extension for QueryShapeLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let mut shape = Shape::default();
        for (_, operation) in document.operations.iter() {
            measure(&operation.node.selection_set.node, &mut shape);
        }
        for fragment in document.fragments.values() {
            measure(&fragment.node.selection_set.node, &mut shape);
        }
        if shape.aliases > self.max_aliases {
            return Err(server_error(
                codes::QUERY_TOO_COMPLEX,
                format!("the query uses {} aliases; at most {} are allowed", shape.aliases, self.max_aliases),
            ));
        }
        if shape.fields > self.max_fields {
            return Err(server_error(
                codes::QUERY_TOO_COMPLEX,
                format!("the query selects {} fields; at most {} are allowed", shape.fields, self.max_fields),
            ));
        }
        Ok(document)
    }
}
